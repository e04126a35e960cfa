import { Socket } from "node:net";
import { Worker } from "node:worker_threads";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type Database, inTransaction, isUniqueViolation, openDatabase } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import type { NewDeploymentRow } from "../../src/store/schema.js";
import { type Stores, storesOf } from "../../src/store/stores.js";
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
  let store: Stores;

  beforeAll(async () => {
    testDb = await createTestDatabase(dialect);
    database = openDatabase(testDb.url);
    await migrateToLatest(database);
    store = storesOf(database);
  });
  // Deployments reference their model and version.
  const known = async (...models: string[]) => {
    await store.models.insertModels(models.map((name) => ({ name, owner_team: "risk", created_at: T0 })));
    await store.models.insertVersions(
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
      tx.deployments.insertDeployments([
        newRow("a-1", "production"),
        newRow("a-2", "production", { endpoint: "http://x" }),
      ]),
    );
    // SQLite runs the statements of a transaction on its connection directly, and only those.
    expect(direct?.mock.calls.length ?? 0).toBe(dialect === "sqlite" ? 1 : 0);
    const outside = await store.deployments.insertDeployments([newRow("a-3", "staging")]);
    expect(direct?.mock.calls.length ?? 0).toBe(dialect === "sqlite" ? 1 : 0);
    direct?.mockRestore();
    for (const row of [...inside, ...outside]) {
      expect(row).toEqual(await store.deployments.findDeployment(row.id));
    }
    expect(inside.map((r) => [r.model, r.endpoint])).toEqual([
      ["a-1", null],
      ["a-2", "http://x"],
    ]);
    expect(outside[0]?.id).toBeGreaterThan(inside[1]?.id ?? Infinity);
  });

  it("find what the round reads: models, versions and live primaries by pair", async () => {
    await store.transaction(async (tx) => {
      await tx.models.insertModels([{ name: "b-1", owner_team: "risk", created_at: T0 }]);
      await tx.models.insertModels([]);
      await tx.models.insertVersions([
        { model: "b-1", model_version: "1.0.0", training_data_cutoff: T0, created_at: T0 },
        { model: "b-1", model_version: "2.0.0", training_data_cutoff: T0 + 1, created_at: T0 },
      ]);
      // A version stored twice keeps its first cutoff.
      await tx.models.insertVersions([
        { model: "b-1", model_version: "1.0.0", training_data_cutoff: 5, created_at: T0 },
      ]);
      await tx.deployments.insertDeployments([
        newRow("b-1", "production"),
        newRow("b-1", "staging"),
        newRow("b-1", "production", { role: "shadow" }),
      ]);
    });
    for (const reader of [store, undefined]) {
      const read = async <T>(work: (s: Stores) => Promise<T>) =>
        reader ? work(reader) : store.transaction(work);
      expect(await read((s) => s.models.findModels(["b-1", "b-404"]))).toEqual([
        { name: "b-1", owner_team: "risk", created_at: T0 },
      ]);
      const versions = await read((s) =>
        s.models.findVersions([
          { model: "b-1", model_version: "1.0.0" },
          { model: "b-1", model_version: "9.9.9" },
        ]),
      );
      expect(versions.find((v) => v.model_version === "1.0.0")?.training_data_cutoff).toBe(T0);
      expect(versions.some((v) => v.model_version === "9.9.9")).toBe(false);
      const primaries = await read((s) =>
        s.deployments.findLivePrimaries([{ model: "b-1", environment: "production" }]),
      );
      const asked = primaries.filter((p) => p.environment === "production");
      expect(asked).toHaveLength(1);
      expect(asked[0]?.role).toBe("primary");
    }
  });

  it("end only live deployments, each at its own time, and say how many", async () => {
    await known("c-1", "c-2");
    const rows = await store.deployments.insertDeployments([
      newRow("c-1", "production"),
      newRow("c-2", "production"),
    ]);
    const [first, second] = rows.map((r) => r.id) as [number, number];
    const ended = await store.transaction((tx) =>
      tx.deployments.endDeployments("superseded", [
        { id: first, ended_at: T0 + 1 },
        { id: second, ended_at: T0 + 2 },
      ]),
    );
    expect(ended).toBe(2);
    expect((await store.deployments.findDeployment(second))?.ended_at).toBe(T0 + 2);
    const again = await store.transaction((tx) =>
      tx.deployments.endDeployments("retired", [{ id: first, ended_at: T0 + 3 }]),
    );
    expect(again).toBe(0);
    expect(await store.deployments.findDeployment(first)).toMatchObject({
      status: "superseded",
      ended_at: T0 + 1,
    });
  });

  it("append events and store answers, and roll all of it back when a statement fails", async () => {
    await known("d-1");
    const [row] = await store.deployments.insertDeployments([newRow("d-1", "production")]);
    const id = row?.id as number;
    await store.transaction(async (tx) => {
      await tx.deployments.appendEvents([
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
      await tx.idempotency.storeResponses([
        { scope_key: "s:k1", request_hash: "h", status_code: 201, response: "{}", created_at: T0 },
      ]);
    });
    expect((await store.deployments.listEvents(id)).map((e) => [e.type, JSON.parse(e.data)])).toEqual([
      ["deployed", { a: 1 }],
    ]);
    expect(await store.transaction((tx) => tx.idempotency.findStoredResponses(["s:k1", "s:k2"]))).toEqual([
      { scope_key: "s:k1", request_hash: "h", status_code: 201, response: "{}" },
    ]);

    const failed = store.transaction(async (tx) => {
      await tx.deployments.appendEvents([
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
      await tx.deployments.insertDeployments([newRow("d-1", "production")]);
    });
    await expect(failed).rejects.toSatisfy(isUniqueViolation);
    expect((await store.deployments.listEvents(id)).map((e) => e.type)).toEqual(["deployed"]);
  });

  it("store deployments under ids reserved first (PostgreSQL), as the database reads them back", async () => {
    await known("e-1", "e-2");
    const stored = await store.transaction(async (tx) => {
      const ids = await tx.deployments.reserveDeploymentIds(3);
      if (dialect === "sqlite") {
        // SQLite's insert hands ids out in the same call: nothing to reserve.
        expect(ids).toBeUndefined();
        return [];
      }
      expect(ids).toHaveLength(3);
      expect([...(ids ?? [])].sort((a, b) => a - b)).toEqual(ids);
      // Two rows for three ids: the third is skipped, as a rolled-back insert's would be.
      const rows = await tx.deployments.insertDeployments(
        [
          newRow("e-1", "production"),
          newRow("e-2", "production", { endpoint: "http://e", tags: '{"a":"b"}' }),
        ],
        ids,
      );
      expect(rows.map((r) => r.id)).toEqual(ids?.slice(0, 2));
      return rows;
    });
    for (const row of stored) expect(await store.deployments.findDeployment(row.id)).toEqual(row);
    // Ids taken later come after the reserved ones.
    const [later] = await store.deployments.insertDeployments([newRow("e-1", "staging")]);
    expect(later?.id).toBeGreaterThan(Math.max(0, ...stored.map((r) => r.id)));
  });

  // A transaction's statements issued together are not made to wait for each other's answers
  // (PostgreSQL: pipelined, see pipelinedTransactions). They still run in the order issued, each
  // with its own result, and all or nothing.
  it("run statements issued together in their order, each with its own result", async () => {
    await known("f-1");
    const [row] = await store.deployments.insertDeployments([newRow("f-1", "production")]);
    const id = row?.id as number;
    const [ended, read, inserted] = await store.transaction((tx) =>
      Promise.all([
        tx.deployments.endDeployments("superseded", [{ id, ended_at: T0 + 5 }]),
        // Issued after the update: sees it.
        tx.deployments.findLivePrimaries([{ model: "f-1", environment: "production" }]),
        // The live primary ended just before, so the unique index lets a new one in.
        tx.deployments.insertDeployments([newRow("f-1", "production", { deployment_date: T0 + 5 })]),
      ]),
    );
    expect(ended).toBe(1);
    expect(read.filter((r) => r.environment === "production")).toEqual([]);
    expect(await store.deployments.findDeployment(inserted[0]?.id as number)).toMatchObject({
      status: "active",
    });
  });

  it("roll back every statement issued with one that fails, and stay usable", async () => {
    await known("g-1", "g-2");
    const [row] = await store.deployments.insertDeployments([newRow("g-1", "production")]);
    const failed = store.transaction((tx) =>
      Promise.all([
        tx.deployments.insertDeployments([newRow("g-2", "production")]),
        // A second live primary of g-1 in production.
        tx.deployments.insertDeployments([newRow("g-1", "production")]),
        tx.deployments.endDeployments("retired", [{ id: row?.id as number, ended_at: T0 + 1 }]),
      ]),
    );
    await expect(failed).rejects.toSatisfy(isUniqueViolation);
    expect(
      (await store.pages.listDeployments({ filter: { model: "g-2" }, order: "asc", limit: 10 })).length,
    ).toBe(0);
    expect(await store.deployments.findDeployment(row?.id as number)).toMatchObject({
      status: "active",
      ended_at: null,
    });
    // Every connection of the pool still works, in and out of transactions.
    await Promise.all(
      Array.from({ length: 12 }, () => store.transaction((tx) => tx.models.findModels(["g-1"]))),
    );
    expect(await store.transaction((tx) => tx.models.findModels(["g-2"]))).toHaveLength(1);
  });

  it("refuse a statement issued once its transaction has ended, and run it nowhere", async () => {
    await known("h-1");
    let kept: Stores | undefined;
    await store.transaction(async (tx) => {
      kept = tx;
      await tx.models.findModels(["h-1"]);
    });
    await expect(kept?.deployments.insertDeployments([newRow("h-1", "production")])).rejects.toThrow();
    expect(
      (await store.pages.listDeployments({ filter: { model: "h-1" }, order: "asc", limit: 10 })).length,
    ).toBe(0);
  });
});

// On PostgreSQL a transaction's statements issued in one turn of the event loop leave in one
// write to the socket, behind the BEGIN: one round trip, not one each.
describe.runIf(dialects().includes("postgres"))("a pipelined PostgreSQL transaction", () => {
  let testDb: TestDatabase;
  let database: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase("postgres");
    database = openDatabase(testDb.url);
    await migrateToLatest(database);
  });
  afterAll(async () => {
    await database.close();
    await testDb.drop();
  });

  it("sends the statements issued together in one write, and their answers come back in order", async () => {
    const store = storesOf(database);
    await store.ping();
    const writes: string[] = [];
    // A net.Socket writes one chunk with _write and several corked ones with _writev.
    const socket = Socket.prototype as unknown as Record<"_write" | "_writev", (chunks: unknown) => void>;
    const writev = vi.spyOn(socket, "_writev");
    const write = vi.spyOn(socket, "_write");
    try {
      const answers = await store.transaction((tx) =>
        Promise.all([1, 2, 3].map((n) => tx.models.findModels([`m-${n}`]).then(() => n))),
      );
      expect(answers).toEqual([1, 2, 3]);
      for (const call of writev.mock.calls) writes.push(`writev of ${(call[0] as unknown[]).length}`);
      for (const _ of write.mock.calls) writes.push("write");
    } finally {
      writev.mockRestore();
      write.mockRestore();
    }
    // BEGIN and the three reads in one write; COMMIT in another.
    expect(writes).toHaveLength(2);
  });

  it("fails a transaction whose connection is lost with statements in flight, and the pool carries on", async () => {
    const store = storesOf(database);
    await store.models.insertModels([{ name: "lost-1", owner_team: "risk", created_at: T0 }]);
    const lost = inTransaction(database, (trx) =>
      Promise.all([
        trx.insertInto("models").values({ name: "lost-2", owner_team: "risk", created_at: T0 }).execute(),
        sql`select pg_terminate_backend(pg_backend_pid())`.execute(trx),
        trx.selectFrom("models").selectAll().execute(),
      ]),
    );
    await expect(lost).rejects.toThrow();
    // Every connection of the pool, a new one for the lost one, still works, and lost-2 is not stored.
    const found = await Promise.all(
      Array.from({ length: 12 }, () => store.transaction((tx) => tx.models.findModels(["lost-1", "lost-2"]))),
    );
    for (const models of found) expect(models.map((m) => m.name)).toEqual(["lost-1"]);
  });

  // A connection lost while lent out (a restart, a failover) used to end the whole process with
  // the client's unhandled 'error' event.
  it("fails a statement whose connection is lost outside a transaction, and the process carries on", async () => {
    await expect(sql`select pg_terminate_backend(pg_backend_pid())`.execute(database.db)).rejects.toThrow();
    // The client of the lost connection ended at the FATAL answer, so the pool lends it no more.
    const one = () => sql<{ one: number }>`select 1 as one`.execute(database.db);
    const again = await Promise.all(Array.from({ length: 12 }, one));
    for (const { rows } of again) expect(rows).toEqual([{ one: 1 }]);
  });
});

// Two processes on one SQLite file (a CLI beside the server): a transaction that reads, then
// writes while another holds the write lock, waits for it instead of failing SQLITE_BUSY. The
// other writer runs on a thread of its own, as another process would: better-sqlite3 waits for
// a lock in the thread that asked.
describe("SQLite transactions beside another writer", () => {
  it("wait for the write lock another connection holds, and then commit", async () => {
    const testDb = await createTestDatabase("sqlite");
    const database = openDatabase(testDb.url);
    await migrateToLatest(database);
    const writer = new Worker(
      `const { parentPort, workerData } = require("node:worker_threads");
       const db = new (require("better-sqlite3"))(workerData);
       db.exec("begin immediate");
       db.prepare("insert into models (name, owner_team, created_at) values ('w-1', 'risk', ?)").run(${T0});
       parentPort.postMessage("holding");
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
       db.exec("commit");
       db.close();
       parentPort.postMessage("committed");`,
      { eval: true, workerData: testDb.url },
    );
    try {
      const messages: string[] = [];
      const holding = new Promise<void>((resolve, reject) => {
        writer.on("message", (message: string) => {
          messages.push(message);
          if (message === "holding") resolve();
        });
        writer.on("error", reject);
      });
      await holding;
      const store = storesOf(database);
      const before = await store.transaction(async (tx) => {
        const found = await tx.models.findModels(["w-1"]);
        await tx.models.insertModels([{ name: "w-2", owner_team: "risk", created_at: T0 }]);
        return found;
      });
      // It began once the other had committed, so it read what the other wrote.
      expect(before.map((m) => m.name)).toEqual(["w-1"]);
      expect((await store.models.findModels(["w-1", "w-2"])).map((m) => m.name).sort()).toEqual([
        "w-1",
        "w-2",
      ]);
    } finally {
      await writer.terminate();
      await database.close();
      await testDb.drop();
    }
  });
});
