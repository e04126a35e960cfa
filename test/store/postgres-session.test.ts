import { type Kysely, sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config.js";
import { openContext } from "../../src/context.js";
import { openDatabase } from "../../src/store/database.js";
import type { Schema } from "../../src/store/schema.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";

// What Tenure sets up on each PostgreSQL connection (src/store/postgres/postgres-pool.ts). On a
// machine without PostgreSQL these are skipped, as test/support/global-setup.ts says in one line;
// never on CI.
const postgres = dialects().includes("postgres");
const dialect = "postgres";

// PostgreSQL's default random_page_cost (4) has the planner read a team's page by skipping other
// teams' deployments in the age index; Tenure's sessions price index reads as from memory or SSD,
// unless the server or database was set to something else on purpose.
describe.skipIf(!postgres)("a PostgreSQL session", () => {
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
describe.skipIf(!postgres)("PostgreSQL prepared statements", () => {
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

  it("prepares nothing with TENURE_PG_PREPARED_STATEMENTS=0, for the server and CLI commands alike", async () => {
    const { preparedStatements } = parseConfig({ TENURE_PG_PREPARED_STATEMENTS: "0" });
    const context = await openContext(database.url, { poolSize: 1, preparedStatements });
    try {
      for (let i = 0; i < 3; i++) await sql`select ${i}::int as n`.execute(context.database.db);
      expect(await prepared(context.database.db)).toEqual([]);
    } finally {
      await context.close();
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
