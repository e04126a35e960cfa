import { type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/**
 * `bucket_0` … `bucket_16`: one column per bucket of the gateway's latency histogram
 * (LATENCY_BOUNDS_MS in src/gateway/traffic-report.ts: 16 bounds and the overflow). Spelled out
 * here, not imported: a migration stays as it ran, whatever the code becomes.
 */
const BUCKET_COLUMNS = Array.from({ length: 17 }, (_, i) => `bucket_${i}`);

/**
 * Traffic as gateways report it: per deployment and minute, summed over every gateway that
 * reported that minute; requests for models the registry does not know (ghosts); and on each
 * deployment, when it last answered traffic and what version its upstream said it was.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const real = dialect === "postgres" ? "double precision" : "real";

  // One row per deployment and minute, whichever gateways served it: each report adds to it, so
  // a window's counts are a sum over its minutes. The latency histogram is a column per bucket,
  // so that the addition is plain SQL on both databases.
  let minutes = db.schema
    .createTable("traffic_minutes")
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("minute", "bigint", (c) => c.notNull())
    .addColumn("requests", "bigint", (c) => c.notNull())
    .addColumn("errors", "bigint", (c) => c.notNull())
    .addColumn("timeouts", "bigint", (c) => c.notNull())
    .addColumn("latency_sum_ms", sql.raw(real), (c) => c.notNull())
    .addColumn("shadow_skipped_oversize", "bigint", (c) => c.notNull().defaultTo(0));
  for (const column of BUCKET_COLUMNS) {
    minutes = minutes.addColumn(column, "bigint", (c) => c.notNull().defaultTo(0));
  }
  await minutes
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("traffic_minutes_pk", ["deployment_id", "minute"])
    .execute();
  // The retention prune deletes by minute alone.
  await db.schema.createIndex("traffic_minutes_minute").on("traffic_minutes").column("minute").execute();

  await db.schema
    .createTable("ghosts")
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("environment", "text", (c) => c.notNull())
    .addColumn("requests", "bigint", (c) => c.notNull())
    .addColumn("first_seen", "bigint", (c) => c.notNull())
    .addColumn("last_seen", "bigint", (c) => c.notNull())
    .addColumn("last_gateway", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("ghosts_pk", ["model", "environment"])
    .execute();
  await db.schema.createIndex("ghosts_last_seen").on("ghosts").column("last_seen").execute();

  await db.schema.alterTable("deployments").addColumn("last_traffic_at", "bigint").execute();
  await db.schema.alterTable("deployments").addColumn("reported_version", "text").execute();
  await db.schema.alterTable("deployments").addColumn("version_mismatch_at", "bigint").execute();
}
