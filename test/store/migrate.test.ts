import { CompiledQuery, sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import { RegisterDeploymentBody } from "../../src/registry/deployment-input.js";
import { type Database, openDatabase } from "../../src/store/database.js";
import { LIVE_PRIMARY_KEY, SqlDeploymentStore } from "../../src/store/deployment-store.js";
import { migrateToLatest, migrateUpTo, SchemaTooNewError } from "../../src/store/migrate.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { registration } from "../support/test-app.js";

const actor = { name: "test", key_scope: "test", team: null };

/**
 * The planner's plan of a query, as text. An empty table is cheaper to scan: PostgreSQL is told
 * not to, to show which index serves.
 */
async function planOf(db: Database, query: { sql: string; parameters: readonly unknown[] }): Promise<string> {
  return db.db.transaction().execute(async (tx) => {
    if (db.dialect === "postgres") await sql`set local enable_seqscan = off`.execute(tx);
    const prefix = db.dialect === "postgres" ? "explain " : "explain query plan ";
    const { rows } = await tx.executeQuery<Record<string, string>>(
      CompiledQuery.raw(prefix + query.sql, [...query.parameters]),
    );
    return rows.map((row) => row.detail ?? row["QUERY PLAN"]).join("\n");
  });
}

describe.each(dialects())("schema on %s", (dialect) => {
  let database: TestDatabase;
  beforeEach(async () => {
    database = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    await database.drop();
  });

  it("migrates a new database, and migrating again changes nothing", async () => {
    const db = openDatabase(database.url);
    try {
      expect((await migrateToLatest(db)).applied).toEqual([
        "0001-registry",
        "0002-lifecycle",
        "0003-monitoring",
        "0004-model-events",
        "0005-model-live-index",
        "0006-gateway-routes",
        "0007-traffic",
        "0008-shadow",
        "0009-canary",
        "0010-canary-labels",
        "0011-webhook-receipts",
        "0012-token-expiry",
        "0013-audit-log",
        "0014-leases",
        "0015-metric-rollups",
        "0016-forecasts",
        "0018-report-digests",
        "0019-learned-ttls",
        "0020-hourly-metric-rollups",
        "0021-announced-ttls",
      ]);
      expect((await migrateToLatest(db)).applied).toEqual([]);
      const tables = (await db.db.introspection.getTables()).map((t) => t.name);
      expect(tables).toEqual(
        expect.arrayContaining(["deployments", "deployment_events", "models", "tokens"]),
      );
    } finally {
      await db.close();
    }
  });

  it("upgrades a registry an older Tenure filled, keeping every row, its history and one live primary", async () => {
    const T = Date.parse("2026-01-01T00:00:00.000Z");
    const DAY = 86_400_000;
    const db = openDatabase(database.url);
    let ids: number[];
    try {
      await migrateUpTo(db, "0003-monitoring");
      await db.db
        .insertInto("models")
        .values([
          { name: "fraud-gbm", owner_team: "risk", created_at: T },
          { name: "churn-lr", owner_team: "growth", created_at: T },
        ])
        .execute();
      const row = (
        model: string,
        environment: string,
        role: "primary" | "shadow",
        status: "active" | "superseded",
        day: number,
      ) => ({
        model,
        model_version: `1.${day}.0`,
        environment,
        owner_team: model === "churn-lr" ? "growth" : "risk",
        role,
        status,
        deployment_date: T + day * DAY,
        training_data_cutoff: T,
        ended_at: status === "superseded" ? T + 10 * DAY : null,
        endpoint: null,
        tags: "{}",
        ttl_extension_seconds: 0,
        created_at: T + day * DAY,
        created_by: "old-tenure",
      });
      const inserted = await db.db
        .insertInto("deployments")
        .values([
          row("fraud-gbm", "production", "primary", "superseded", 1),
          row("fraud-gbm", "production", "primary", "active", 10),
          row("fraud-gbm", "production", "shadow", "active", 12),
          row("fraud-gbm", "staging", "primary", "active", 5),
          row("churn-lr", "production", "primary", "active", 2),
        ])
        .returning("id")
        .execute();
      ids = inserted.map((r) => r.id);
      const [first, second, shadow, staging, churn] = ids as [number, number, number, number, number];
      const event = (deployment_id: number | null, model: string, environment: string, type: string) => ({
        deployment_id,
        model,
        environment,
        type,
        actor: "old-tenure",
        at: T,
        data: "{}",
      });
      await db.db
        .insertInto("deployment_events")
        .values([
          event(first, "fraud-gbm", "production", "deployed"),
          event(churn, "churn-lr", "production", "deployed"),
          event(second, "fraud-gbm", "production", "deployed"),
          event(first, "fraud-gbm", "production", "superseded"),
          event(staging, "fraud-gbm", "staging", "deployed"),
          event(shadow, "fraud-gbm", "production", "deployed"),
          event(null, "churn-lr", "production", "golden_set"),
          event(null, "fraud-gbm", "production", "golden_set"),
        ])
        .execute();
      expect((await migrateToLatest(db)).applied).toEqual([
        "0004-model-events",
        "0005-model-live-index",
        "0006-gateway-routes",
        "0007-traffic",
        "0008-shadow",
        "0009-canary",
        "0010-canary-labels",
        "0011-webhook-receipts",
        "0012-token-expiry",
        "0013-audit-log",
        "0014-leases",
        "0015-metric-rollups",
        "0016-forecasts",
        "0018-report-digests",
        "0019-learned-ttls",
        "0020-hourly-metric-rollups",
        "0021-announced-ttls",
      ]);
    } finally {
      await db.close();
    }

    const context = await openContext(database.url);
    try {
      const [first, second, , staging] = ids as [number, number, number, number, number];
      const history = await context.registry.modelEvents("fraud-gbm");
      expect(history.map((e) => [e.type, e.deployment_id])).toEqual([
        ["deployed", first],
        ["deployed", second],
        ["superseded", first],
        ["deployed", staging],
        ["deployed", ids[2]],
        ["golden_set", null],
      ]);
      // A new primary supersedes the one the old Tenure left live, and only that one.
      const { deployment } = await context.registry.register(
        RegisterDeploymentBody.parse(
          registration({ model_version: "2.0.0", training_data_cutoff: "2026-02-01" }),
        ),
        actor,
      );
      expect((await context.registry.get(second)).status).toBe("superseded");
      expect((await context.registry.get(staging)).status).toBe("active");
      const live = await context.registry.list({
        model: "fraud-gbm",
        status: "active",
        sort: "-age",
        limit: 50,
      });
      expect(live.items.map((d) => [d.environment, d.role, d.id])).toEqual([
        ["staging", "primary", staging],
        ["production", "shadow", ids[2]],
        ["production", "primary", deployment.id],
      ]);
      const all = await context.database.db.selectFrom("deployments").select("id").execute();
      expect(all).toHaveLength(6);
      // The one-live-primary rule holds on the upgraded data, in the schema itself.
      const churn = await context.database.db
        .selectFrom("deployments")
        .selectAll()
        .where("id", "=", ids[4] as number)
        .executeTakeFirstOrThrow();
      const { id: _id, ...again } = churn;
      await expect(context.database.db.insertInto("deployments").values(again).execute()).rejects.toThrow();
    } finally {
      await context.close();
    }
  });

  it("refuses, untouched, a database migrated by a newer Tenure", async () => {
    const db = openDatabase(database.url);
    await migrateToLatest(db);
    await sql`insert into kysely_migration (name, timestamp) values ('9999-future', '2030-01-01')`.execute(
      db.db,
    );
    await db.close();
    await expect(openContext(database.url)).rejects.toThrow(SchemaTooNewError);
    await expect(openContext(database.url)).rejects.toThrow(/schema version 9999-future.*upgrade Tenure/);
  });

  it("refuses any update or delete of an event, whoever asks", async () => {
    const context = await openContext(database.url);
    try {
      const { deployment } = await context.registry.register(
        RegisterDeploymentBody.parse(registration()),
        actor,
      );
      const events = () => context.database.db.selectFrom("deployment_events").selectAll().execute();
      expect(await events()).toHaveLength(1);
      await expect(
        context.database.db.updateTable("deployment_events").set({ type: "forged" }).execute(),
      ).rejects.toThrow(/append-only/);
      await expect(context.database.db.deleteFrom("deployment_events").execute()).rejects.toThrow(
        /append-only/,
      );
      expect((await events())[0]).toMatchObject({ type: "deployed", deployment_id: deployment.id });
    } finally {
      await context.close();
    }
  });

  it("finds a live primary through the unique index by model, as the store spells its key", async () => {
    const db = openDatabase(database.url);
    try {
      await migrateToLatest(db);
      const plan = await planOf(db, {
        sql: `select * from deployments where model = 'm' and environment = 'e' and ${LIVE_PRIMARY_KEY} = 0`,
        parameters: [],
      });
      expect(plan).toContain("deployments_model_live");
      // The whole key, the expression too, bounds the search: not every deployment of the pair.
      expect(plan).toMatch(dialect === "postgres" ? /Index Cond: .*environment.*CASE WHEN/ : /<expr>=/);
    } finally {
      await db.close();
    }
  });

  it("reads a model's own events through their partial index, not every model's", async () => {
    const db = openDatabase(database.url);
    try {
      await migrateToLatest(db);
      const plan = await planOf(db, new SqlDeploymentStore(db).modelEventsQuery("fraud-gbm"));
      expect(plan).toContain("deployment_events_model_own");
    } finally {
      await db.close();
    }
  });

  it("refuses a second live primary of a model in an environment in the schema itself", async () => {
    const context = await openContext(database.url);
    try {
      await context.registry.register(RegisterDeploymentBody.parse(registration()), actor);
      const now = Date.now();
      const row = {
        model: "fraud-gbm",
        model_version: "3.2.0",
        environment: "production",
        owner_team: "risk",
        role: "primary" as const,
        status: "active" as const,
        deployment_date: now,
        training_data_cutoff: now,
        ended_at: null,
        endpoint: null,
        tags: "{}",
        ttl_extension_seconds: 0,
        created_at: now,
        created_by: "test",
      };
      await expect(context.database.db.insertInto("deployments").values(row).execute()).rejects.toThrow();
      // A shadow beside it, or a primary elsewhere, is fine.
      await context.database.db
        .insertInto("deployments")
        .values({ ...row, role: "shadow" })
        .execute();
      await context.database.db
        .insertInto("deployments")
        .values({ ...row, environment: "staging" })
        .execute();
    } finally {
      await context.close();
    }
  });
});
