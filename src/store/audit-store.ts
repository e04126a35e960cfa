import { BoundStore } from "./bound-store.js";
import type { AuditRow } from "./schema.js";

/** One change, as it is appended: the snapshots are already JSON text with every secret left out. */
export type NewAuditEntry = Omit<AuditRow, "id">;

export interface AuditQuery {
  actor?: string;
  action?: string;
  /** Epoch ms: only changes made at or after it. */
  since?: number;
  limit: number;
  /** The id of the last row of the page before: rows are read newest first, below it. */
  before_id?: number;
}

/**
 * The audit log. Append-only: this interface has no way to change or remove a row (a test holds
 * it to that), and the table's triggers refuse an UPDATE or DELETE from anywhere else.
 */
export interface AuditStore {
  /** Appends one change and returns it with its id. */
  append(entry: NewAuditEntry): Promise<AuditRow>;
  /** Appends several changes in one statement (a registration round's); nothing when none. */
  appendAll(entries: NewAuditEntry[]): Promise<void>;
  /** Changes newest first, filtered, at most `limit`, below the cursor's id. */
  list(query: AuditQuery): Promise<AuditRow[]>;
}

export class SqlAuditStore extends BoundStore implements AuditStore {
  async append(entry: NewAuditEntry): Promise<AuditRow> {
    return this.executor.insertInto("audit_log").values(entry).returningAll().executeTakeFirstOrThrow();
  }

  async appendAll(entries: NewAuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.executor.insertInto("audit_log").values(entries).execute();
  }

  async list(query: AuditQuery): Promise<AuditRow[]> {
    let select = this.executor.selectFrom("audit_log").selectAll();
    if (query.actor !== undefined) select = select.where("actor", "=", query.actor);
    if (query.action !== undefined) select = select.where("action", "=", query.action);
    if (query.since !== undefined) select = select.where("at", ">=", query.since);
    if (query.before_id !== undefined) select = select.where("id", "<", query.before_id);
    // Ids grow with time within one database, and order pages stably where several rows share a ms.
    return select.orderBy("id", "desc").limit(query.limit).execute();
  }
}
