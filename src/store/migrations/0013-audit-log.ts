import { type ColumnDefinitionBuilder, type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/**
 * The audit log: one row per change made to the registry, by whom, from where, with the changed
 * record before and after. Append-only like the events: the database itself refuses an UPDATE or
 * a DELETE of a row (a trigger on each dialect), so no code path, not even a future one, can
 * rewrite what happened. A retention job would have to drop the trigger in a migration of its own.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const idType = dialect === "postgres" ? "serial" : "integer";
  const id = (c: ColumnDefinitionBuilder) =>
    dialect === "sqlite" ? c.primaryKey().autoIncrement() : c.primaryKey();
  await db.schema
    .createTable("audit_log")
    .addColumn("id", idType, id)
    .addColumn("at", "bigint", (c) => c.notNull())
    // `token:ci-deployer`, `cli:alice`, `signal:SIGHUP`, `webhook:mlflow`.
    .addColumn("actor", "text", (c) => c.notNull())
    // `deployment.retire`, `token.create`, `policies.reload`, …
    .addColumn("action", "text", (c) => c.notNull())
    // `deployment:42`, `model:fraud-gbm/production`, `token:7`, `policies`; null for fleet-wide work.
    .addColumn("target", "text")
    .addColumn("origin", "text", (c) =>
      c.notNull().check(sql`origin in ('http', 'local', 'signal', 'system')`),
    )
    .addColumn("client_ip", "text")
    .addColumn("user_agent", "text")
    .addColumn("method", "text")
    .addColumn("path", "text")
    .addColumn("status", "integer")
    // JSON: the changed record before and after (no secret: a token's hash is left out).
    .addColumn("before", "text")
    .addColumn("after", "text")
    .execute();
  await db.schema.createIndex("audit_log_at").on("audit_log").columns(["at", "id"]).execute();
  await db.schema.createIndex("audit_log_actor").on("audit_log").columns(["actor", "id"]).execute();
  await db.schema.createIndex("audit_log_action").on("audit_log").columns(["action", "id"]).execute();
  if (dialect === "sqlite") {
    for (const verb of ["update", "delete"]) {
      await sql
        .raw(
          `create trigger audit_log_no_${verb} before ${verb} on audit_log begin select raise(abort, 'audit_log is append-only'); end`,
        )
        .execute(db);
    }
    return;
  }
  await sql`create function audit_log_append_only() returns trigger language plpgsql as $$
    begin raise exception 'audit_log is append-only'; end $$`.execute(db);
  await sql`create trigger audit_log_append_only before update or delete or truncate on audit_log
    for each statement execute function audit_log_append_only()`.execute(db);
}
