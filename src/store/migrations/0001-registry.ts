import { type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/** The registry: models, versions, deployments, their append-only events, golden versions, tokens. */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const idType = dialect === "postgres" ? "serial" : "integer";
  const autoId = dialect === "sqlite";

  await db.schema
    .createTable("models")
    .addColumn("name", "text", (c) => c.primaryKey())
    .addColumn("owner_team", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();

  await db.schema
    .createTable("model_versions")
    .addColumn("model", "text", (c) => c.notNull().references("models.name"))
    .addColumn("model_version", "text", (c) => c.notNull())
    .addColumn("training_data_cutoff", "bigint", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("model_versions_pk", ["model", "model_version"])
    .execute();

  await db.schema
    .createTable("deployments")
    .addColumn("id", idType, (c) => (autoId ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn("model", "text", (c) => c.notNull().references("models.name"))
    .addColumn("model_version", "text", (c) => c.notNull())
    .addColumn("environment", "text", (c) => c.notNull())
    .addColumn("owner_team", "text", (c) => c.notNull())
    .addColumn("role", "text", (c) => c.notNull().check(sql`role in ('primary', 'shadow', 'canary')`))
    .addColumn("status", "text", (c) =>
      c.notNull().check(sql`status in ('scheduled', 'active', 'superseded', 'rolled_back', 'retired')`),
    )
    .addColumn("deployment_date", "bigint", (c) => c.notNull())
    .addColumn("training_data_cutoff", "bigint", (c) => c.notNull())
    .addColumn("ended_at", "bigint")
    .addColumn("endpoint", "text")
    .addColumn("tags", "text", (c) => c.notNull().defaultTo("{}"))
    .addColumn("ttl_extension_seconds", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("created_by", "text", (c) => c.notNull())
    .execute();

  // The schema itself forbids two live primaries of one model in one environment, whatever
  // races above it: the registry serializes writers, and this index is the last word.
  await db.schema
    .createIndex("deployments_one_live_primary")
    .on("deployments")
    .columns(["model", "environment"])
    .unique()
    .where(sql.ref("status"), "=", "active")
    .where(sql.ref("role"), "=", "primary")
    .execute();
  // Listing sorts by age (deployment_date, id); each common filter gets an index in that order,
  // so a page is an index range read that stops after `limit` rows rather than a sort.
  for (const [name, columns] of [
    ["deployments_age", ["deployment_date", "id"]],
    ["deployments_environment_age", ["environment", "deployment_date", "id"]],
  ] as const) {
    await db.schema
      .createIndex(name)
      .on("deployments")
      .columns([...columns])
      .execute();
  }
  // Live deployments by age, as a partial index: an index that led with status would look
  // selective to SQLite's planner, which would then scan every live deployment to find the
  // primaries of a few models. Queries name the status as a literal so both planners match it.
  await db.schema
    .createIndex("deployments_live_age")
    .on("deployments")
    .columns(["deployment_date", "id"])
    .where(sql.ref("status"), "=", "active")
    .execute();
  await db.schema
    .createIndex("deployments_model_env")
    .on("deployments")
    .columns(["model", "environment", "status"])
    .execute();
  await db.schema
    .createIndex("deployments_team_age")
    .on("deployments")
    .columns(["owner_team", "deployment_date", "id"])
    .execute();

  await db.schema
    .createTable("deployment_events")
    .addColumn("id", idType, (c) => (autoId ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn("deployment_id", "integer", (c) => c.references("deployments.id"))
    .addColumn("model", "text", (c) => c.notNull())
    .addColumn("environment", "text", (c) => c.notNull())
    .addColumn("type", "text", (c) => c.notNull())
    .addColumn("actor", "text", (c) => c.notNull())
    .addColumn("at", "bigint", (c) => c.notNull())
    .addColumn("data", "text", (c) => c.notNull().defaultTo("{}"))
    .execute();
  await db.schema
    .createIndex("deployment_events_deployment")
    .on("deployment_events")
    .columns(["deployment_id", "id"])
    .execute();
  await db.schema
    .createIndex("deployment_events_model")
    .on("deployment_events")
    .columns(["model", "environment", "id"])
    .execute();
  await forbidEventChanges(db, dialect);

  await db.schema
    .createTable("golden_versions")
    .addColumn("model", "text", (c) => c.notNull().references("models.name"))
    .addColumn("environment", "text", (c) => c.notNull())
    .addColumn("model_version", "text", (c) => c.notNull())
    .addColumn("set_at", "bigint", (c) => c.notNull())
    .addColumn("set_by", "text", (c) => c.notNull())
    .addPrimaryKeyConstraint("golden_versions_pk", ["model", "environment"])
    .execute();

  await db.schema
    .createTable("tokens")
    .addColumn("id", idType, (c) => (autoId ? c.primaryKey().autoIncrement() : c.primaryKey()))
    .addColumn("name", "text")
    .addColumn("token_hash", "text", (c) => c.notNull().unique())
    .addColumn("scope", "text", (c) => c.notNull().check(sql`scope in ('read', 'write', 'admin')`))
    .addColumn("owner_team", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("revoked_at", "bigint")
    .execute();

  await db.schema
    .createTable("idempotency_keys")
    .addColumn("scope_key", "text", (c) => c.primaryKey())
    .addColumn("request_hash", "text", (c) => c.notNull())
    .addColumn("status_code", "integer", (c) => c.notNull())
    .addColumn("response", "text", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .execute();
}

/** Events are append-only: the database refuses to update or delete one, whoever asks. */
async function forbidEventChanges(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  if (dialect === "sqlite") {
    for (const action of ["update", "delete"]) {
      await sql
        .raw(
          `create trigger deployment_events_no_${action} before ${action} on deployment_events ` +
            `begin select raise(abort, 'deployment_events is append-only'); end`,
        )
        .execute(db);
    }
    return;
  }
  await sql
    .raw(
      `create function deployment_events_append_only() returns trigger language plpgsql as $$
       begin raise exception 'deployment_events is append-only'; end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger deployment_events_no_change before update or delete on deployment_events
       for each row execute function deployment_events_append_only()`,
    )
    .execute(db);
}
