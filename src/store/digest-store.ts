import { BoundStore } from "./bound-store.js";
import type { ReportDigestRow } from "./schema.js";

/** A digest's outcome for one team, channel and slot. */
export type DigestRecord = Omit<ReportDigestRow, "owner_team" | "channel" | "slot">;

/**
 * The rot report's digests as sent: one row per team, channel and schedule slot, so that the
 * scheduler knows across restarts and replicas what it has sent and what it still owes.
 */
export interface DigestStore {
  /** The rows of one slot, of every team and channel. */
  slotDigests(slot: number): Promise<ReportDigestRow[]>;
  /** Records an attempt's outcome, creating the row or replacing its state. */
  record(key: { owner_team: string; channel: string; slot: number }, record: DigestRecord): Promise<void>;
}

export class SqlDigestStore extends BoundStore implements DigestStore {
  async slotDigests(slot: number): Promise<ReportDigestRow[]> {
    return this.executor.selectFrom("report_digests").selectAll().where("slot", "=", slot).execute();
  }

  async record(
    key: { owner_team: string; channel: string; slot: number },
    record: DigestRecord,
  ): Promise<void> {
    await this.executor
      .insertInto("report_digests")
      .values({ ...key, ...record })
      .onConflict((oc) => oc.columns(["owner_team", "channel", "slot"]).doUpdateSet(record))
      .execute();
  }
}
