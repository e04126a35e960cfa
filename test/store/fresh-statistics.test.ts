import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Context, openContext } from "../../src/context.js";
import { FreshStatistics } from "../../src/store/fresh-statistics.js";
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
