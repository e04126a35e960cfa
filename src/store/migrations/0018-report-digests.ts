import type { Kysely } from "kysely";
import type { DialectName } from "../database.js";

/**
 * The rot report's digests: one row per team, channel and slot of the policy file's `report`
 * schedule, written when it was sent (or failed for good), so that a restarted server neither
 * sends a slot's digest again nor skips one it missed.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable("report_digests")
    .addColumn("owner_team", "text", (c) => c.notNull())
    .addColumn("channel", "text", (c) => c.notNull())
    // The schedule's slot the digest is for (epoch ms): the key that makes a slot's digest one.
    .addColumn("slot", "bigint", (c) => c.notNull())
    // `sent`, `pending` (an attempt failed, another comes at next_attempt_at) or `failed` (given up).
    .addColumn("state", "text", (c) => c.notNull())
    .addColumn("attempts", "integer", (c) => c.notNull())
    .addColumn("next_attempt_at", "bigint")
    .addColumn("last_error", "text")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addColumn("sent_at", "bigint")
    .addPrimaryKeyConstraint("report_digests_pk", ["owner_team", "channel", "slot"])
    .execute();
}
