import { sql } from "kysely";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import { RegisterDeploymentBody } from "../../src/registry/deployment-input.js";
import { openDatabase } from "../../src/store/database.js";
import { LIVE_PRIMARY_KEY } from "../../src/store/deployment-store.js";
import { migrateToLatest, SchemaTooNewError } from "../../src/store/migrate.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { registration } from "../support/test-app.js";

const actor = { name: "test", key_scope: "test", team: null };

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
      const query = `select * from deployments where model = 'm' and environment = 'e' and ${LIVE_PRIMARY_KEY} = 0`;
      const plan = await db.db.transaction().execute(async (tx) => {
        // An empty table is cheaper to scan: PostgreSQL is told not to, to show the index serves.
        if (dialect === "postgres") await sql`set local enable_seqscan = off`.execute(tx);
        const prefix = dialect === "postgres" ? "explain " : "explain query plan ";
        const { rows } = await sql.raw<Record<string, string>>(prefix + query).execute(tx);
        return rows.map((row) => row.detail ?? row["QUERY PLAN"]).join("\n");
      });
      expect(plan).toContain("deployments_model_live");
      // The whole key, the expression too, bounds the search: not every deployment of the pair.
      expect(plan).toMatch(dialect === "postgres" ? /Index Cond: .*environment.*CASE WHEN/ : /<expr>=/);
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
