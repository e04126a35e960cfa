import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { DEPLOYMENT_COLUMNS } from "../../src/store/page-json.js";

// SQLite rows are read as arrays and turned into objects by a literal compiled per statement:
// the rows must be exactly what better-sqlite3's own objects would be.
describe("SQLite rows", () => {
  let database: Database;
  beforeAll(() => {
    database = openDatabase(":memory:");
  });
  afterAll(async () => {
    await database.close();
  });

  it("are plain objects with every column, in order, nulls and numbers kept", async () => {
    const { rows } = await sql<Record<string, unknown>>`
      select 1 as id, 'fraud-gbm' as model, null as ended_at, 1.5 as score, x'00ff' as raw`.execute(
      database.db,
    );
    expect(rows).toEqual([
      { id: 1, model: "fraud-gbm", ended_at: null, score: 1.5, raw: Buffer.from([0, 255]) },
    ]);
    expect(Object.keys(rows[0] ?? {})).toEqual(["id", "model", "ended_at", "score", "raw"]);
    expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
  });

  it("keep the later of two columns of one name, as better-sqlite3 does", async () => {
    const { rows } = await sql`select 1 as a, 2 as a`.execute(database.db);
    expect(rows).toEqual([{ a: 2 }]);
  });

  it("take any column name as data, never as code", async () => {
    const names = ['"); throw new Error("x', "a\\", "`$" + "{1}`", "__proto__", "constructor", "line\nbreak"];
    for (const name of names) {
      const { rows } = await sql`select 7 as ${sql.id(name)}`.execute(database.db);
      expect(rows).toHaveLength(1);
      expect(Object.getOwnPropertyDescriptor(rows[0], name)?.value).toBe(7);
      expect(Object.getPrototypeOf(rows[0])).toBe(Object.prototype);
    }
  });

  it("are the same through a cached statement, many rows and none", async () => {
    for (let round = 0; round < 2; round++) {
      const { rows } = await sql<{ n: number }>`
        with recursive s(n) as (select 1 union all select n + 1 from s where n < 500) select n from s`.execute(
        database.db,
      );
      expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    }
    const { rows } = await sql`select 1 as a where 0`.execute(database.db);
    expect(rows).toEqual([]);
  });

  it("stream as objects too", async () => {
    const seen: unknown[] = [];
    for await (const row of database.db
      .selectFrom(sql`(select 1 as a union all select 2)`.as("t"))
      .selectAll()
      .stream()) {
      seen.push(row);
    }
    expect(seen).toEqual([{ a: 1 }, { a: 2 }]);
  });
});

// A list page names its columns (DEPLOYMENT_COLUMNS): a column a migration adds must be named
// there too, or listings would leave it out.
describe("a page of deployments", () => {
  it("carries every column of the migrated deployments table", async () => {
    const database = openDatabase(":memory:");
    try {
      await migrateToLatest(database);
      const { rows } = await sql<{ name: string }>`select name from pragma_table_info('deployments')`.execute(
        database.db,
      );
      expect([...DEPLOYMENT_COLUMNS].sort()).toEqual(rows.map((r) => r.name).sort());
    } finally {
      await database.close();
    }
  });
});

// The registration round's inserts on SQLite (DirectSqlite) must store what Kysely's would.
describe("DirectSqlite inserts", () => {
  it("store each row, give a column left undefined its default, and return the ids when asked", async () => {
    const database = openDatabase(":memory:");
    try {
      await sql`create table t (id integer primary key, name text not null, note text not null default 'none')`.execute(
        database.db,
      );
      const direct = database.direct;
      if (!direct) throw new Error("a SQLite database has direct statements");
      const ids = direct.insert(
        "t",
        [
          { name: "a", note: undefined },
          { name: "b", note: undefined },
        ],
        { returningIds: true },
      );
      expect(ids).toEqual([1, 2]);
      expect(direct.insert("t", [{ name: "c" }], { returningIds: true })).toEqual([3]);
      expect(direct.insert("t", [{ id: 1, name: "again" }], { onConflict: "do nothing" })).toEqual([]);
      expect(direct.allEach("select * from t where id = ?", [1, 2, 3], (id) => [id])).toEqual([
        { id: 1, name: "a", note: "none" },
        { id: 2, name: "b", note: "none" },
        { id: 3, name: "c", note: "none" },
      ]);
      expect(direct.run("update t set note = ? where id > ?", ["x", 0])).toBe(3);
    } finally {
      await database.close();
    }
  });
});
