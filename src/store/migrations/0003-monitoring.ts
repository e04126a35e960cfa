import { type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/** Performance: metric points per deployment, baselines, and the performance state the sweep keeps. */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const real = dialect === "postgres" ? "double precision" : "real";

  // A point is keyed by deployment, metric and its own timestamp: a retried batch changes
  // nothing, and a corrected value (a late label) replaces the first.
  await db.schema
    .createTable("metric_points")
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("timestamp", "bigint", (c) => c.notNull())
    .addColumn("value", sql.raw(real), (c) => c.notNull())
    .addColumn("sample_size", "integer", (c) => c.notNull().defaultTo(1))
    .addColumn("received_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("metric_points_pk", ["deployment_id", "name", "timestamp"])
    .execute();

  await db.schema
    .createTable("metric_baselines")
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("value", sql.raw(real), (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull().check(sql`source in ('registration', 'learned')`))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("metric_baselines_pk", ["deployment_id", "name"])
    .execute();

  // Drift: per deployment and feature, the reference distribution (a bounded sample of numbers,
  // or category counts), and per UTC day of live traffic the same bounded summary: storage stays
  // flat at any traffic, never every row.
  await db.schema
    .createTable("drift_references")
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("feature", "text", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('numeric', 'categorical')`))
    .addColumn("seen", "bigint", (c) => c.notNull())
    .addColumn("summary", "text", (c) => c.notNull())
    .addColumn("source", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("drift_references_pk", ["deployment_id", "feature"])
    .execute();
  await db.schema
    .createTable("drift_samples")
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("feature", "text", (c) => c.notNull())
    .addColumn("day", "bigint", (c) => c.notNull())
    .addColumn("kind", "text", (c) => c.notNull().check(sql`kind in ('numeric', 'categorical')`))
    .addColumn("seen", "bigint", (c) => c.notNull())
    .addColumn("summary", "text", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("drift_samples_pk", ["deployment_id", "feature", "day"])
    .execute();

  // The performance state the last sweep found, kept on the deployment so that every view of it
  // (lists included) shows its performance age without reading its metrics.
  await db.schema.alterTable("deployments").addColumn("performance_state", "text").execute();
  await db.schema.alterTable("deployments").addColumn("performance_ok_since", "bigint").execute();
  await db.schema.alterTable("deployments").addColumn("performance_drop", sql.raw(real)).execute();
  await db.schema.alterTable("deployments").addColumn("drift_state", "text").execute();
}
