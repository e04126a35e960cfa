import type { Kysely } from "kysely";

/**
 * The TTL in force last announced for each learned TTL: what its live deployments were last told
 * by a `learned_ttl_changed` event (or found in force when nothing was to be told), with the
 * bounds it was clamped by and when. A policy file changed while no server ran, or a reload
 * whose events were not written, leaves the TTL in force different from this one: the next start
 * or sweep tells of the difference instead of letting the TTL change silently. Null on rows
 * learned before: the first start or sweep takes their TTL in force as announced.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("learned_ttls").addColumn("announced_ttl_seconds", "bigint").execute();
  // JSON: the policy's min, max and fallback (seconds) the announced TTL was set within.
  await db.schema.alterTable("learned_ttls").addColumn("announced_bounds", "text").execute();
  await db.schema.alterTable("learned_ttls").addColumn("announced_at", "bigint").execute();
}
