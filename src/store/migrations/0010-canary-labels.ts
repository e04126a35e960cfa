import type { Kysely } from "kysely";
import type { DialectName } from "../database.js";

/**
 * Labels for canaries: what each side of a model with a canary (its primary and the canary)
 * predicted, per request, so that ground truth posted later by request id (the `feedback` table
 * of migration 0008) scores each side. Rows are deleted after a retention (on write, see
 * src/monitoring/canary-labels.ts), so they stay bounded at any traffic. And the least number
 * of labelled requests a side needs before a canary's analysis weighs them.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  // Keyed by deployment and request id: a report sent twice (a retried flush) changes nothing.
  await db.schema
    .createTable("canary_predictions")
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("request_id", "text", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    // The prediction as JSON (a string, number or boolean); null when the answer held none.
    .addColumn("prediction", "text")
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("canary_predictions_pk", ["deployment_id", "request_id"])
    .execute();
  // An analysis reads one side's newest labelled predictions in a span; pruning goes by age.
  await db.schema
    .createIndex("canary_predictions_span")
    .on("canary_predictions")
    .columns(["deployment_id", "at"])
    .execute();
  await db.schema.createIndex("canary_predictions_at").on("canary_predictions").columns(["at"]).execute();

  await db.schema
    .alterTable("canaries")
    .addColumn("min_labels", "integer", (c) => c.notNull().defaultTo(30))
    .execute();
}
