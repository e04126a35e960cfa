import { sql } from "kysely";
import { BoundStore } from "./bound-store.js";
import type { SweepRow } from "./schema.js";

export interface NewSweep {
  trigger: string;
  actor: string;
  evaluated_at: number;
  scheduled_for: number | null;
  started_at: number;
}

export interface SweepTotals {
  finished_at: number;
  duration_ms: number;
  deployments: number;
  stages: Record<string, number>;
  findings: Record<string, number>;
  promotions: number;
  retirements: number;
  alerts_opened: number;
  alerts_resolved: number;
  notifications: number;
}

/** The sweep log: who may sweep now, and what each sweep found. */
export interface SweepStore {
  /**
   * Logs a sweep as running, called by the holder of the sweep lease: any sweep still marked
   * running is then one whose process died or lost the lease, and is marked failed. Undefined
   * when the scheduled slot was claimed already (`scheduled_for` is unique).
   */
  claimSweep(sweep: NewSweep): Promise<SweepRow | undefined>;
  runningSweep(): Promise<SweepRow | undefined>;
  finishSweep(id: number, totals: SweepTotals): Promise<SweepRow>;
  failSweep(id: number, at: number, error: string): Promise<void>;
  /** The sweep log, newest first. */
  listSweeps(limit: number, beforeId?: number): Promise<SweepRow[]>;
  /** The latest cron slot a scheduled sweep claimed, if any. */
  lastScheduledSlot(): Promise<number | undefined>;
  /** When the latest sweep that ended (done or failed) ended, and the latest that was done; null before any. */
  lastFinished(): Promise<{ last_run: number | null; last_success: number | null }>;
}

export class SqlSweepStore extends BoundStore implements SweepStore {
  async claimSweep(sweep: NewSweep): Promise<SweepRow | undefined> {
    await this.executor
      .updateTable("sweeps")
      .set({ state: "failed", error: "abandoned: the process running it stopped" })
      .where("state", "=", sql.lit("running"))
      .execute();
    return this.executor
      .insertInto("sweeps")
      .values({ ...sweep, state: "running" })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  async runningSweep(): Promise<SweepRow | undefined> {
    return this.executor
      .selectFrom("sweeps")
      .selectAll()
      .where("state", "=", sql.lit("running"))
      .executeTakeFirst();
  }

  async finishSweep(id: number, totals: SweepTotals): Promise<SweepRow> {
    return this.executor
      .updateTable("sweeps")
      .set({
        ...totals,
        stages: JSON.stringify(totals.stages),
        findings: JSON.stringify(totals.findings),
        state: "done",
      })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async failSweep(id: number, at: number, error: string): Promise<void> {
    await this.executor
      .updateTable("sweeps")
      .set({ state: "failed", finished_at: at, error: error.slice(0, 2000) })
      .where("id", "=", id)
      .execute();
  }

  async listSweeps(limit: number, beforeId?: number): Promise<SweepRow[]> {
    let query = this.executor.selectFrom("sweeps").selectAll();
    if (beforeId !== undefined) query = query.where("id", "<", beforeId);
    return query.orderBy("id", "desc").limit(limit).execute();
  }

  async lastScheduledSlot(): Promise<number | undefined> {
    const row = await this.executor
      .selectFrom("sweeps")
      .select((eb) => eb.fn.max("scheduled_for").as("slot"))
      .executeTakeFirst();
    return row?.slot === null || row?.slot === undefined ? undefined : Number(row.slot);
  }

  async lastFinished(): Promise<{ last_run: number | null; last_success: number | null }> {
    // One row per sweep: a day's log is a row, a year of hourly sweeps a few thousand.
    const row = await this.executor
      .selectFrom("sweeps")
      .select([
        (eb) => eb.fn.max("finished_at").as("last_run"),
        sql<number | null>`max(case when ${sql.ref("state")} = 'done' then ${sql.ref("finished_at")} end)`.as(
          "last_success",
        ),
      ])
      .where("finished_at", "is not", null)
      .executeTakeFirst();
    const number = (value: unknown) => (value === null || value === undefined ? null : Number(value));
    return { last_run: number(row?.last_run), last_success: number(row?.last_success) };
  }
}
