import { sql } from "kysely";
import type { TestApp } from "./test-app.js";

/**
 * Installs, in this test's own database, a trigger that refuses every insert into `table`: a
 * stand-in for a write that fails half-way through a change's transaction.
 */
export async function refuseInserts(
  t: Pick<TestApp, "context">,
  table: "audit_log" | "deployment_events",
): Promise<void> {
  const db = t.context.database.db;
  if (t.context.database.dialect === "sqlite") {
    await sql
      .raw(
        `create trigger test_refuse_${table} before insert on ${table} begin select raise(abort, 'refused by the test'); end`,
      )
      .execute(db);
    return;
  }
  await sql
    .raw(
      `create function test_refuse_${table}() returns trigger language plpgsql as $$ begin raise exception 'refused by the test'; end $$`,
    )
    .execute(db);
  await sql
    .raw(
      `create trigger test_refuse_${table} before insert on ${table} for each statement execute function test_refuse_${table}()`,
    )
    .execute(db);
}

/** Drops the trigger `refuseInserts` installed: `table` takes rows again. */
export async function allowInserts(
  t: Pick<TestApp, "context">,
  table: "audit_log" | "deployment_events",
): Promise<void> {
  const db = t.context.database.db;
  await sql
    .raw(`drop trigger test_refuse_${table}${t.context.database.dialect === "sqlite" ? "" : ` on ${table}`}`)
    .execute(db);
  if (t.context.database.dialect === "postgres")
    await sql.raw(`drop function test_refuse_${table}()`).execute(db);
}
