import { type ColumnDefinitionBuilder, type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/**
 * Canaries: each canary's analysis settings and progress, and every analysis with its figures.
 * A canary's share of traffic and its sticky header live on the deployment, where the gateway's
 * route table reads them (migration 0006 adds those two columns).
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const idType = dialect === "postgres" ? "serial" : "integer";
  const real = dialect === "postgres" ? "double precision" : "real";
  const id = (c: ColumnDefinitionBuilder) =>
    dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey();

  await db.schema
    .createTable("canaries")
    .addColumn("deployment_id", "integer", (c) => c.primaryKey().references("deployments.id"))
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("environment", "text", (c) => c.notNull())
    // The live primary when the canary was registered: what it was meant to replace.
    .addColumn("primary_id", "integer")
    // JSON array of ascending weights, or null: a canary without steps never promotes.
    .addColumn("steps", "text")
    .addColumn("step_index", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("interval_seconds", "integer", (c) => c.notNull())
    .addColumn("failure_limit", "integer", (c) => c.notNull())
    .addColumn("min_requests", "integer", (c) => c.notNull())
    .addColumn("inconclusive_limit", "integer", (c) => c.notNull())
    .addColumn("max_error_rate_increase", sql.raw(real), (c) => c.notNull())
    .addColumn("max_p99_ratio", sql.raw(real), (c) => c.notNull())
    .addColumn("failures", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("inconclusive_streak", "integer", (c) => c.notNull().defaultTo(0))
    .addColumn("state", "text", (c) =>
      c.notNull().check(sql`state in ('running', 'paused', 'rolled_back', 'promoted', 'ended')`),
    )
    // The next analysis is due then; analysers claim it by moving it (a conditional update).
    .addColumn("next_analysis_at", "bigint", (c) => c.notNull())
    // Where the next analysis's window starts: where the last one ended, so none overlap or gap.
    .addColumn("window_start", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("canaries_due")
    .on("canaries")
    .columns(["next_analysis_at", "deployment_id"])
    .where(sql.ref("state"), "=", "running")
    .execute();
  await db.schema
    .createIndex("canaries_model")
    .on("canaries")
    .columns(["model", "environment", "deployment_id"])
    .execute();

  await db.schema
    .createTable("canary_analyses")
    .addColumn("id", idType, id)
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("window_start", "bigint", (c) => c.notNull())
    .addColumn("window_end", "bigint", (c) => c.notNull())
    .addColumn("verdict", "text", (c) => c.notNull().check(sql`verdict in ('pass', 'fail', 'inconclusive')`))
    // What followed: hold, advance, promote, rollback or pause.
    .addColumn("action", "text", (c) => c.notNull())
    .addColumn("step_index", "integer", (c) => c.notNull())
    .addColumn("weight", "integer", (c) => c.notNull())
    // JSON: each side's requests, errors, error rate and p99, the margins, labels, and the reasons.
    .addColumn("figures", "text", (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex("canary_analyses_deployment")
    .on("canary_analyses")
    .columns(["deployment_id", "id"])
    .execute();
}
