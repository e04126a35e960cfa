import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { FreshStatistics } from "../../src/store/fresh-statistics.js";
import { dialects } from "../support/databases.js";
import { contextForSuite, registerFleet } from "../support/seeding.js";

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
  const context = contextForSuite(dialect);

  it("analyzes the deployments table once a fleet of 1,000 is registered in one go", async () => {
    await registerFleet(context(), 1_000, { concurrently: true });
    await context().registry.idle();
    if (dialect === "sqlite") {
      // SQLite plans from shapes and indexes alone: no statistics table is made behind its back.
      const { rows } = await sql`select name from sqlite_master where name = 'sqlite_stat1'`.execute(
        context().database.db,
      );
      expect(rows).toEqual([]);
      return;
    }
    const { rows } = await sql<{ reltuples: number; analyzed: boolean }>`
      select c.reltuples::bigint as reltuples, s.last_analyze is not null as analyzed
      from pg_class c join pg_stat_user_tables s on s.relid = c.oid
      where c.relname = 'deployments'`.execute(context().database.db);
    expect(rows[0]?.analyzed).toBe(true);
    expect(Number(rows[0]?.reltuples)).toBeGreaterThanOrEqual(1_000);
  });
});
