import type { Kysely } from "kysely";
import type { DialectName } from "../database.js";

/**
 * The deliveries of signed webhooks received (MLflow's), by the sender's delivery id, so that a
 * replayed delivery changes nothing. A delivery is refused anyway once its signed time is past
 * the tolerance, so rows older than that are deleted on write and the table stays small.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable("webhook_receipts")
    // The sender (`mlflow`), so that other senders' ids never collide with its ids.
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("delivery_id", "text", (c) => c.notNull())
    // The delivery's signed time: past the tolerance, a replay is refused without this row.
    .addColumn("signed_at", "bigint", (c) => c.notNull())
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("webhook_receipts_pk", ["source", "delivery_id"])
    .execute();
  await db.schema
    .createIndex("webhook_receipts_signed_at")
    .on("webhook_receipts")
    .columns(["signed_at"])
    .execute();
}
