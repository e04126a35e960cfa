import { type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/**
 * Shadow validation: the pairs gateways report (one request answered by the primary and by a
 * shadow) and the ground truth that arrives later by request id. Both are pruned after a
 * retention, so they stay bounded at any traffic.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const real = dialect === "postgres" ? "double precision" : "real";

  // Keyed by shadow and request id: a report sent twice (a retried flush) changes nothing.
  await db.schema
    .createTable("shadow_pairs")
    .addColumn("shadow_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("primary_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("at", "bigint", (c) => c.notNull())
    // Each side's prediction as JSON (a string, number or boolean); null when it gave none.
    .addColumn("primary_prediction", "text")
    .addColumn("shadow_prediction", "text")
    .addColumn("primary_status", "integer", (c) => c.notNull())
    .addColumn("shadow_status", "integer", (c) => c.notNull())
    .addColumn("primary_latency_ms", sql.raw(real), (c) => c.notNull())
    .addColumn("shadow_latency_ms", sql.raw(real), (c) => c.notNull())
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("shadow_pairs_pk", ["shadow_id", "request_id"])
    .execute();
  // A comparison reads a shadow's newest pairs against one primary; pruning goes by age.
  await db.schema
    .createIndex("shadow_pairs_comparison")
    .on("shadow_pairs")
    .columns(["shadow_id", "primary_id", "at"])
    .execute();
  await db.schema.createIndex("shadow_pairs_at").on("shadow_pairs").columns(["at"]).execute();

  // One label per request: a corrected label replaces the first. It may come before its pair.
  await db.schema
    .createTable("feedback")
    .addColumn("request_id", "text", (c) => c.primaryKey())
    .addColumn("label", "text", (c) => c.notNull())
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema.createIndex("feedback_received_at").on("feedback").columns(["received_at"]).execute();
}
