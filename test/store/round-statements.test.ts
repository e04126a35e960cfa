import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Database, isUniqueViolation, openDatabase } from "../../src/store/database.js";
import { DeploymentStore } from "../../src/store/deployment-store.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import type { NewDeploymentRow } from "../../src/store/schema.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";

const T0 = Date.UTC(2026, 9, 1);

function newRow(
  model: string,
  environment: string,
  overrides: Partial<NewDeploymentRow> = {},
): NewDeploymentRow {
  return {
    model,
    model_version: "1.0.0",
    environment,
    owner_team: "risk",
    role: "primary",
    status: "active",
    deployment_date: T0,
    training_data_cutoff: T0 - 86_400_000,
    ended_at: null,
    endpoint: null,
    tags: "{}",
    ttl_extension_seconds: 0,
    created_at: T0,
    created_by: "test",
    ...overrides,
  };
}

// The registration round's statements: on SQLite, inside a transaction, they run as one prepared
// statement per row on the connection itself (DirectSqlite); elsewhere as one Kysely query. Both
// must store and return the same things, and a failed statement must roll the transaction back.
describe.each(dialects())("the registration round's statements (%s)", (dialect) => {
  let testDb: TestDatabase;
  let database: Database;
  let store: DeploymentStore;

  beforeAll(async () => {
    testDb = await createTestDatabase(dialect);
    database = openDatabase(testDb.url);
    await migrateToLatest(database);
    store = new DeploymentStore(database);
  });
  // Deployments reference their model and version.
  const known = async (...models: string[]) => {
    await store.insertModels(models.map((name) => ({ name, owner_team: "risk", created_at: T0 })));
    await store.insertVersions(
      models.map((model) => ({ model, model_version: "1.0.0", training_data_cutoff: T0, created_at: T0 })),
    );
  };

  afterAll(async () => {
    await database.close();
    await testDb.drop();
  });

  it("insert deployments and return the rows as stored, inside a transaction and out", async () => {
    await known("a-1", "a-2", "a-3");
    const direct = database.direct ? vi.spyOn(database.direct, "insert") : undefined;
    const inside = await store.transaction((tx) =>
      tx.insertDeployments([
        newRow("a-1", "production"),
        newRow("a-2", "production", { endpoint: "http://x" }),
      ]),
    );
    // SQLite runs the statements of a transaction on its connection directly, and only those.
    expect(direct?.mock.calls.length ?? 0).toBe(dialect === "sqlite" ? 1 : 0);
    const outside = await store.insertDeployments([newRow("a-3", "staging")]);
    expect(direct?.mock.calls.length ?? 0).toBe(dialect === "sqlite" ? 1 : 0);
    direct?.mockRestore();
    for (const row of [...inside, ...outside]) {
      expect(row).toEqual(await store.findDeployment(row.id));
    }
    expect(inside.map((r) => [r.model, r.endpoint])).toEqual([
      ["a-1", null],
      ["a-2", "http://x"],
    ]);
    expect(outside[0]?.id).toBeGreaterThan(inside[1]?.id ?? Infinity);
  });

  it("find what the round reads: models, versions and live primaries by pair", async () => {
    await store.transaction(async (tx) => {
      await tx.insertModels([{ name: "b-1", owner_team: "risk", created_at: T0 }]);
      await tx.insertModels([]);
      await tx.insertVersions([
        { model: "b-1", model_version: "1.0.0", training_data_cutoff: T0, created_at: T0 },
        { model: "b-1", model_version: "2.0.0", training_data_cutoff: T0 + 1, created_at: T0 },
      ]);
      // A version stored twice keeps its first cutoff.
      await tx.insertVersions([
        { model: "b-1", model_version: "1.0.0", training_data_cutoff: 5, created_at: T0 },
      ]);
      await tx.insertDeployments([
        newRow("b-1", "production"),
        newRow("b-1", "staging"),
        newRow("b-1", "production", { role: "shadow" }),
      ]);
    });
    for (const reader of [store, undefined]) {
      const read = async <T>(work: (s: DeploymentStore) => Promise<T>) =>
        reader ? work(reader) : store.transaction(work);
      expect(await read((s) => s.findModels(["b-1", "b-404"]))).toEqual([
        { name: "b-1", owner_team: "risk", created_at: T0 },
      ]);
      const versions = await read((s) =>
        s.findVersions([
          { model: "b-1", model_version: "1.0.0" },
          { model: "b-1", model_version: "9.9.9" },
        ]),
      );
      expect(versions.find((v) => v.model_version === "1.0.0")?.training_data_cutoff).toBe(T0);
      expect(versions.some((v) => v.model_version === "9.9.9")).toBe(false);
      const primaries = await read((s) => s.findLivePrimaries([{ model: "b-1", environment: "production" }]));
      const asked = primaries.filter((p) => p.environment === "production");
      expect(asked).toHaveLength(1);
      expect(asked[0]?.role).toBe("primary");
    }
  });

  it("end only live deployments, each at its own time, and say how many", async () => {
    await known("c-1", "c-2");
    const rows = await store.insertDeployments([newRow("c-1", "production"), newRow("c-2", "production")]);
    const [first, second] = rows.map((r) => r.id) as [number, number];
    const ended = await store.transaction((tx) =>
      tx.endDeployments("superseded", [
        { id: first, ended_at: T0 + 1 },
        { id: second, ended_at: T0 + 2 },
      ]),
    );
    expect(ended).toBe(2);
    expect((await store.findDeployment(second))?.ended_at).toBe(T0 + 2);
    const again = await store.transaction((tx) =>
      tx.endDeployments("retired", [{ id: first, ended_at: T0 + 3 }]),
    );
    expect(again).toBe(0);
    expect(await store.findDeployment(first)).toMatchObject({ status: "superseded", ended_at: T0 + 1 });
  });

  it("append events and store answers, and roll all of it back when a statement fails", async () => {
    await known("d-1");
    const [row] = await store.insertDeployments([newRow("d-1", "production")]);
    const id = row?.id as number;
    await store.transaction(async (tx) => {
      await tx.appendEvents([
        {
          deployment_id: id,
          model: "d-1",
          environment: "production",
          type: "deployed",
          actor: "t",
          at: T0,
          data: { a: 1 },
        },
      ]);
      await tx.storeResponses([
        { scope_key: "s:k1", request_hash: "h", status_code: 201, response: "{}", created_at: T0 },
      ]);
    });
    expect((await store.listEvents(id)).map((e) => [e.type, JSON.parse(e.data)])).toEqual([
      ["deployed", { a: 1 }],
    ]);
    expect(await store.transaction((tx) => tx.findStoredResponses(["s:k1", "s:k2"]))).toEqual([
      { scope_key: "s:k1", request_hash: "h", status_code: 201, response: "{}" },
    ]);

    const failed = store.transaction(async (tx) => {
      await tx.appendEvents([
        {
          deployment_id: id,
          model: "d-1",
          environment: "production",
          type: "noted",
          actor: "t",
          at: T0,
          data: {},
        },
      ]);
      // A second live primary of d-1 in production breaks the unique deployments_model_live.
      await tx.insertDeployments([newRow("d-1", "production")]);
    });
    await expect(failed).rejects.toSatisfy(isUniqueViolation);
    expect((await store.listEvents(id)).map((e) => e.type)).toEqual(["deployed"]);
  });
});
