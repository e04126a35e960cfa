import type { Kysely } from "kysely";
import type { DialectName } from "../database.js";

/**
 * Leases: the right to do one thing at a time across every process sharing the database (the
 * sweep), held until `expires_at` and renewed while the work runs. A process that dies stops
 * renewing, so its lease frees itself; a session-level advisory lock would instead be stranded
 * with a killed pod's connection, or released behind PgBouncer's transaction pooling.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable("leases")
    .addColumn("name", "text", (c) => c.primaryKey())
    // Who holds it: host, process id and a random part, so a restarted process is someone else.
    .addColumn("holder", "text", (c) => c.notNull())
    // Grows by one at every acquisition: the holder's writes carry it, and a write whose token is
    // no longer the row's comes from a holder that lost the lease (a fencing token).
    .addColumn("fencing_token", "bigint", (c) => c.notNull())
    .addColumn("acquired_at", "bigint", (c) => c.notNull())
    .addColumn("expires_at", "bigint", (c) => c.notNull())
    .execute();
}
