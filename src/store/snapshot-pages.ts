import type { DeploymentRow } from "./schema.js";

/** A page of deployments as the database returned it, and the state it was read in. */
export interface SnapshotPage {
  /**
   * PostgreSQL: `pg_current_snapshot()` of the page's statement, as text (`xmin:xmax:xip,…`).
   * SQLite: `data_version:total_changes()` of the connection, read just before the page.
   */
  snapshot: string;
  rows: readonly DeploymentRow[];
}

/**
 * Pages of deployments, each with the state of the database it was read in, so that a page asked
 * for again is served without reading it again when nothing has been committed since. Checking
 * costs one statement that reads no table; dashboards and gateways ask for the same pages all day
 * while the fleet changes a few times an hour.
 *
 * - PostgreSQL: two snapshots with the same xmin, xmax and transactions in progress see the same
 *   committed transactions, and so the same rows: a transaction that writes takes an id, which
 *   moves xmax, and one that ends leaves the list. A write anywhere on the server, in any
 *   database, only sends the next read to the table.
 * - SQLite: `PRAGMA data_version` moves when another connection (a CLI, another process) commits,
 *   and `total_changes()` with every row this connection changes. Read before the page, a commit
 *   in between makes the page newer than its state, never older: the next read goes to the table.
 *
 * Bounded by rows held, least recently used out first. Rows are frozen: every caller shares them.
 */
export class SnapshotPages {
  private readonly pages = new Map<string, SnapshotPage>();
  private rows = 0;

  constructor(private readonly maxRows = 20_000) {}

  get(key: string): SnapshotPage | undefined {
    const page = this.pages.get(key);
    if (page) {
      // Most recently used last: Map keeps insertion order.
      this.pages.delete(key);
      this.pages.set(key, page);
    }
    return page;
  }

  set(key: string, snapshot: string, rows: DeploymentRow[]): void {
    this.delete(key);
    if (rows.length > this.maxRows) return;
    for (const row of rows) Object.freeze(row);
    this.pages.set(key, { snapshot, rows: Object.freeze([...rows]) });
    this.rows += rows.length;
    for (const [oldest, page] of this.pages) {
      if (this.rows <= this.maxRows) break;
      this.pages.delete(oldest);
      this.rows -= page.rows.length;
    }
  }

  delete(key: string): void {
    const page = this.pages.get(key);
    if (!page) return;
    this.pages.delete(key);
    this.rows -= page.rows.length;
  }

  get size(): number {
    return this.pages.size;
  }
}
