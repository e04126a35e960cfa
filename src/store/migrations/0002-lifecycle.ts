import { type ColumnDefinitionBuilder, type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/**
 * The lifecycle: liveness heartbeats, the sweep log, alerts and the outbox that delivers them.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const idType = dialect === "postgres" ? "serial" : "integer";
  const autoId = dialect === "sqlite";
  const id = (c: ColumnDefinitionBuilder) => (autoId ? c.primaryKey().autoIncrement() : c.primaryKey());

  // The last liveness heartbeat of a deployment: a plain column, overwritten, since only the
  // latest one decides whether a deployment is `silent`.
  await db.schema.alterTable("deployments").addColumn("last_heartbeat_at", "bigint").execute();
  // Scheduled promotions wait here until a sweep carries them out.
  await db.schema
    .createIndex("deployments_scheduled")
    .on("deployments")
    .columns(["deployment_date", "id"])
    .where(sql.ref("status"), "=", "scheduled")
    .execute();

  await db.schema
    .createTable("sweeps")
    .addColumn("id", idType, id)
    .addColumn("state", "text", (c) => c.notNull().check(sql`state in ('running', 'done', 'failed')`))
    .addColumn("trigger", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    // The evaluation time: now, or the time a replay asked for (`tenure sweep --at`).
    .addColumn("evaluated_at", "bigint", (c) => c.notNull())
    // The cron slot a scheduled sweep stands for: unique, so two replicas never both run it.
    .addColumn("scheduled_for", "bigint", (c) => c.unique())
    .addColumn("started_at", "bigint", (c) => c.notNull())
    .addColumn("finished_at", "bigint")
    .addColumn("duration_ms", "integer")
    .addColumn("deployments", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("stages", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("findings", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("promotions", "integer", (c) => c.notNull().defaultTo(0))
    // Deployments the sweep retired or rolled back under `expire_action: retire`.
    .addColumn("retirements", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("alerts_opened", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("alerts_resolved", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("notifications", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("error", "text")
    .execute();
  // At most one sweep runs at a time, across every process sharing the database: claiming a run
  // is an insert that this index lets only one writer win.
  await db.schema
    .createIndex("sweeps_one_running")
    .on("sweeps")
    .column("state")
    .unique()
    .where(sql.ref("state"), "=", "running")
    .execute();

  await db.schema
    .createTable("alerts")
    .addColumn("id", idType, id)
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("kind", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull().check(sql`state in ('open', 'resolved')`))
    .addColumn("severity", "text", (c) => c.notNull())
    .addColumn("policy", "text", (c) => c.notNull())
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("model_version", "text", (c) => c.notNull())
    .addColumn("environment", "text", (c) => c.notNull())
    .addColumn("owner_team", "text", (c) => c.notNull())
    .addColumn("summary", "text", (c) => c.notNull())
    .addColumn("detail", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("opened_at", "bigint", (c) => c.notNull())
    .addColumn("last_notified_at", "bigint")
    .addColumn("notifications", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("resolved_at", "bigint")
    .addColumn("resolution", "text")
    .execute();
  // An alert is keyed by deployment and kind: while one is open, the same finding reuses it.
  await db.schema
    .createIndex("alerts_one_open")
    .on("alerts")
    .columns(["deployment_id", "kind"])
    .unique()
    .where(sql.ref("state"), "=", "open")
    .execute();
  // No index leads with state: SQLite's planner would pick it for a sweep's range of open alerts
  // and read every open alert of the fleet on every page. Lists by state walk the ids instead.
  await db.schema.createIndex("alerts_deployment").on("alerts").columns(["deployment_id", "kind"]).execute();
  await db.schema
    .createIndex("alerts_reviewed")
    .on("alerts")
    .column("deployment_id")
    .where(sql.ref("resolution"), "=", "reviewed")
    .execute();

  await db.schema
    .createTable("deliveries")
    .addColumn("id", idType, id)
    .addColumn("alert_id", "integer", (c) => c.notNull().references("alerts.id"))
    .addColumn("channel", "text", (c) => c.notNull())
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("notification", "text", (c) => c.notNull())
    .addColumn("state", "text", (c) => c.notNull().check(sql`state in ('pending', 'delivered', 'failed')`))
    .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("next_attempt_at", "bigint", (c) => c.notNull())
    // A claim is a lease: a dispatcher that dies mid-send leaves a lease that simply runs out.
    .addColumn("claimed_until", "bigint")
    .addColumn("last_error", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("delivered_at", "bigint")
    .execute();
  await db.schema
    .createIndex("deliveries_due")
    .on("deliveries")
    .columns(["next_attempt_at", "id"])
    .where(sql.ref("state"), "=", "pending")
    .execute();
  await db.schema.createIndex("deliveries_state").on("deliveries").columns(["state", "id"]).execute();
  await db.schema
    .createIndex("deliveries_alert_channel")
    .on("deliveries")
    .columns(["alert_id", "channel", "id"])
    .execute();

  await db.schema
    .createTable("delivery_attempts")
    .addColumn("id", idType, id)
    .addColumn("delivery_id", "integer", (c) => c.notNull().references("deliveries.id"))
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("duration_ms", "integer", (c) => c.notNull())
    .addColumn("status_code", "integer")
    .addColumn("error", "text")
    .execute();
  await db.schema
    .createIndex("delivery_attempts_delivery")
    .on("delivery_attempts")
    .columns(["delivery_id", "id"])
    .execute();
}
