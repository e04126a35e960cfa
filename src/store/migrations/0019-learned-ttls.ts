import type { Kysely } from "kysely";
import type { DialectName } from "../database.js";

/**
 * Learned TTLs: what each sweep learned of a model's decay in an environment, for each policy with
 * `max_age: auto` that governs it. Every replica reads its TTLs from here, so all of them judge a
 * deployment by the same TTL whichever one swept. `ttl_seconds` is the suggestion before the
 * policy's bounds (null: no curve, the policy's fallback applies), so a changed bound applies at
 * once without a sweep.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable("learned_ttls")
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("environment", "text", (c) => c.notNull())
    .addColumn("policy", "text", (c) => c.notNull())
    .addColumn("ttl_seconds", "bigint")
    // One line on why: the suggestion's reason, or why the model has no curve.
    .addColumn("reason", "text", (c) => c.notNull())
    // JSON: the suggestion's evidence (slope, interval, deployments and windows used); null without a curve.
    .addColumn("evidence", "text")
    .addColumn("learned_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("learned_ttls_pk", ["model", "environment", "policy"])
    .execute();
}
