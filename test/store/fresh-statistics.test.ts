import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Context, openContext } from "../../src/context.js";
import { openDatabase } from "../../src/store/database.js";
import { FreshStatistics } from "../../src/store/fresh-statistics.js";
import type { Schema } from "../../src/store/schema.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";

describe("FreshStatistics", () => {
  it("refreshes after minRows, then after each growth by the fraction, one at a time", async () => {
    const calls: number[] = [];
    let finish = () => {};
    let tableRows = 0;
    const statistics = new FreshStatistics({
      minRows: 100,
      fraction: 0.5,
      analyze: () => {
        calls.push(tableRows);
        return new Promise((resolve) => {
          finish = () => resolve(tableRows);
        });
      },
    });
    const grow = (rows: number) => {
      tableRows += rows;
      statistics.grew(rows);
    };
    grow(99);
    expect(calls).toEqual([]);
    grow(1);
    expect(calls).toEqual([100]);
    grow(500); // while the first refresh runs: counted, not started
    expect(calls).toEqual([100]);
    finish();
    await statistics.idle();
    grow(1); // 501 rows since the last start, table at 100 when it ran: due
    expect(calls).toEqual([100, 601]);
    finish();
    await statistics.idle();
    grow(300); // 300 < 0.5 x 601
    expect(calls).toEqual([100, 601]);
    grow(1);
    expect(calls).toEqual([100, 601, 902]);
    finish();
    await statistics.idle();
  });

  it("leaves a failed refresh to the database and tries again later", async () => {
    let attempts = 0;
    const statistics = new FreshStatistics({
      minRows: 10,
      analyze: async () => {
        attempts++;
        throw new Error("connection lost");
      },
    });
    statistics.grew(10);
    await statistics.idle();
    statistics.grew(10);
    await statistics.idle();
    expect(attempts).toBe(2);
  });
});

describe.each(dialects())("registrations keep the planner's statistics fresh (%s)", (dialect) => {
  let database: TestDatabase;
  let context: Context;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    context = await openContext(database.url);
  });
  afterAll(async () => {
    await context.close();
    await database.drop();
  });

  it("analyzes the deployments table once a fleet of 1,000 is registered in one go", async () => {
    const actor = { name: "import", scope: "write", team: null, key_scope: "import" } as const;
    await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        context.registry.register(
          {
            model: `model-${i}`,
            model_version: "1.0.0",
            environment: "production",
            owner_team: "risk",
            training_data_cutoff: "2026-01-01T00:00:00Z",
            role: "primary",
          },
          actor,
        ),
      ),
    );
    await context.registry.idle();
    if (dialect === "sqlite") {
      // SQLite plans from shapes and indexes alone: no statistics table is made behind its back.
      const { rows } = await sql`select name from sqlite_master where name = 'sqlite_stat1'`.execute(
        context.database.db,
      );
      expect(rows).toEqual([]);
      return;
    }
    const { rows } = await sql<{ reltuples: number; analyzed: boolean }>`
      select c.reltuples::bigint as reltuples, s.last_analyze is not null as analyzed
      from pg_class c join pg_stat_user_tables s on s.relid = c.oid
      where c.relname = 'deployments'`.execute(context.database.db);
    expect(rows[0]?.analyzed).toBe(true);
    expect(Number(rows[0]?.reltuples)).toBeGreaterThanOrEqual(1_000);
  });
});

// PostgreSQL's default random_page_cost (4) has the planner read a team's page by skipping other
// teams' deployments in the age index; Tenure's sessions price index reads as from memory or SSD,
// unless the server or database was set to something else on purpose.
describe.each(dialects().filter((dialect) => dialect === "postgres"))("a %s session", (dialect) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const setting = async () => {
    const opened = openDatabase(database.url, { poolSize: 1 });
    try {
      const { rows } = await sql<{
        value: string;
      }>`select current_setting('random_page_cost') as value`.execute(opened.db);
      return rows[0]?.value;
    } finally {
      await opened.close();
    }
  };

  it("prices random page reads at 1.1 when the server keeps PostgreSQL's default", async () => {
    expect(await setting()).toBe("1.1");
  });

  it("keeps a value the database was configured with", async () => {
    const name = new URL(database.url).pathname.slice(1);
    const admin = openDatabase(database.url, { poolSize: 1 });
    try {
      await sql.raw(`alter database ${name} set random_page_cost = 2`).execute(admin.db);
    } finally {
      await admin.close();
    }
    expect(await setting()).toBe("2");
  });
});

// Kysely sends statements unnamed, so PostgreSQL would plan each one anew: a connection prepares
// the statements it repeats, and PostgreSQL keeps their plans.
describe.each(dialects().filter((dialect) => dialect === "postgres"))("%s prepared statements", (dialect) => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await database?.drop();
  });

  const prepared = async (db: Kysely<Schema>) => {
    const { rows } = await sql<{ statement: string }>`
      select statement from pg_prepared_statements where name like 'tenure\\_%' order by name`.execute(db);
    return rows.map((row) => row.statement);
  };

  it("prepares a statement the second time a connection runs it, with the same answers", async () => {
    const opened = openDatabase(database.url, { poolSize: 1 });
    try {
      const answers = [];
      for (let i = 0; i < 4; i++) {
        answers.push((await sql<{ n: number }>`select ${i}::int + 1 as n`.execute(opened.db)).rows);
      }
      expect(answers).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }], [{ n: 4 }]]);
      await sql`select ${"once"}::text as once`.execute(opened.db);
      expect(await prepared(opened.db)).toEqual(["select $1::int + 1 as n"]);
    } finally {
      await opened.close();
    }
  });

  it("prepares it again under a new name when its table changed under it", async () => {
    const opened = openDatabase(database.url, { poolSize: 1 });
    try {
      await sql`create table changing (a int)`.execute(opened.db);
      await sql`insert into changing values (1)`.execute(opened.db);
      const read = () =>
        opened.db.selectFrom(sql`changing`.as("c")).selectAll().where(sql.lit(1), "=", 1).execute();
      await read();
      expect(await read()).toEqual([{ a: 1 }]);
      await sql`alter table changing add column b int default 2`.execute(opened.db);
      // PostgreSQL refuses the kept plan once ("cached plan must not change result type").
      await expect(read()).rejects.toMatchObject({ code: "0A000" });
      await read();
      expect(await read()).toEqual([{ a: 1, b: 2 }]);
    } finally {
      await opened.close();
    }
  });

  it("prepares nothing when told not to (a pooler that cannot carry them)", async () => {
    const opened = openDatabase(database.url, { poolSize: 1, preparedStatements: false });
    try {
      for (let i = 0; i < 3; i++) await sql`select ${i}::int as n`.execute(opened.db);
      expect(await prepared(opened.db)).toEqual([]);
    } finally {
      await opened.close();
    }
  });
});
