import { BoundStore } from "./bound-store.js";
import type { LeaseRow } from "./schema.js";

/** A lease as its holder knows it: what it holds, until when, and the token its writes carry. */
export interface Lease {
  name: string;
  holder: string;
  fencing_token: number;
  expires_at: number;
}

/**
 * Leases in a table: the right to do one thing at a time across processes, given by a
 * conditional write (the row changes only when the lease is free or expired) so
 * that any number of processes may ask at once and one wins. Times are the callers' clocks:
 * replicas' clocks must agree to well within a lease's length.
 */
export interface LeaseStore {
  /**
   * Takes the lease `name` until `now + ttlMs` when it is free or expired, with the next fencing
   * token. Undefined while it is held, even by `holder`: two sweeps of one process exclude each
   * other too (a holder extends its lease with `renew`).
   */
  acquire(name: string, holder: string, now: number, ttlMs: number): Promise<Lease | undefined>;
  /**
   * Extends a lease held with this token to `now + ttlMs`; undefined when it was taken over
   * meanwhile (its token moved on) or released. An expired lease nobody took is extended:
   * nothing was lost.
   */
  renew(lease: Lease, now: number, ttlMs: number): Promise<Lease | undefined>;
  /** Gives the lease up at once, if still held with this token, so the next process need not wait. */
  release(lease: Lease): Promise<void>;
  /**
   * True while the lease still carries this token. Inside a transaction on PostgreSQL the row
   * stays share-locked until the commit, so a takeover waits for the writes this check guards:
   * they land before the new holder's, never after.
   */
  holds(lease: Lease): Promise<boolean>;
  /** The lease as the table has it, held or not. */
  current(name: string): Promise<LeaseRow | undefined>;
}

export class SqlLeaseStore extends BoundStore implements LeaseStore {
  async acquire(name: string, holder: string, now: number, ttlMs: number): Promise<Lease | undefined> {
    // One statement: an insert when no row exists, else an update guarded by the row's state,
    // which PostgreSQL re-checks on the latest row version when two processes race for it.
    return this.executor
      .insertInto("leases")
      .values({ name, holder, fencing_token: 1, acquired_at: now, expires_at: now + ttlMs })
      .onConflict((oc) =>
        oc
          .column("name")
          .doUpdateSet((eb) => ({
            holder: eb.ref("excluded.holder"),
            fencing_token: eb("leases.fencing_token", "+", 1),
            acquired_at: eb.ref("excluded.acquired_at"),
            expires_at: eb.ref("excluded.expires_at"),
          }))
          .where("leases.expires_at", "<=", now),
      )
      .returning(["name", "holder", "fencing_token", "expires_at"])
      .executeTakeFirst();
  }

  async renew(lease: Lease, now: number, ttlMs: number): Promise<Lease | undefined> {
    return (
      this.executor
        .updateTable("leases")
        .set({ expires_at: now + ttlMs })
        .where("name", "=", lease.name)
        .where("fencing_token", "=", lease.fencing_token)
        // A renewal still in flight when its holder released the lease must not take it back.
        .where("expires_at", ">", 0)
        .returning(["name", "holder", "fencing_token", "expires_at"])
        .executeTakeFirst()
    );
  }

  async release(lease: Lease): Promise<void> {
    // The row stays, so the next holder's token still grows from this one.
    await this.executor
      .updateTable("leases")
      .set({ expires_at: 0 })
      .where("name", "=", lease.name)
      .where("fencing_token", "=", lease.fencing_token)
      .execute();
  }

  async holds(lease: Lease): Promise<boolean> {
    let query = this.executor.selectFrom("leases").select("fencing_token").where("name", "=", lease.name);
    // SQLite runs one write transaction at a time: nothing can take the lease mid-transaction.
    if (this.dialect === "postgres") query = query.forShare();
    const row = await query.executeTakeFirst();
    return row !== undefined && Number(row.fencing_token) === lease.fencing_token;
  }

  async current(name: string): Promise<LeaseRow | undefined> {
    return this.executor.selectFrom("leases").selectAll().where("name", "=", name).executeTakeFirst();
  }
}
