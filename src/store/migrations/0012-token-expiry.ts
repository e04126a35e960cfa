import type { Kysely } from "kysely";

/**
 * An optional expiry for API tokens (`tenure token create --expires 90d`): a token past its
 * `expires_at` is refused as a revoked one is, but says why. Null means it never expires, which
 * is what every token made before this migration keeps.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("tokens").addColumn("expires_at", "bigint").execute();
}
