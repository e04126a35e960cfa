import { CompiledQuery, sql } from "kysely";
import { openDatabase } from "../../dist/store/database.js";
import { storesOf } from "../../dist/store/stores.js";

/** What a run left in the database, read straight from it after the load. */
export interface Census {
  deployments: number;
  by_status: Record<string, number>;
  live_by_role: Record<string, number>;
  events: number;
  models: number;
  /** The planner's plan for each list query the reads measure, as the store builds it. */
  plans: Record<string, string[]>;
}

/** A list query as GET /v1/deployments builds it (src/store/page-filter.ts). */
export interface ListShape {
  name: string;
  environment?: string;
  owner_team?: string;
  /** The decoded cursor: the (deployment_date, id) of the previous page's last row. */
  after?: [number, number];
  limit: number;
}

/** Counts rows by status and role and explains the list queries, on either dialect. */
export async function takeCensus(url: string, shapes: ListShape[]): Promise<Census> {
  const database = openDatabase(url, { poolSize: 1 });
  const { db } = database;
  try {
    const rows = await db
      .selectFrom("deployments")
      .select(["status", "role", sql<number>`count(*)`.as("n")])
      .groupBy(["status", "role"])
      .execute();
    const byStatus: Record<string, number> = {};
    const liveByRole: Record<string, number> = {};
    let deployments = 0;
    for (const row of rows) {
      const n = Number(row.n);
      deployments += n;
      byStatus[row.status] = (byStatus[row.status] ?? 0) + n;
      if (row.status === "active") liveByRole[row.role] = (liveByRole[row.role] ?? 0) + n;
    }
    const count = async (table: "deployment_events" | "models") =>
      Number((await db.selectFrom(table).select(sql<number>`count(*)`.as("n")).executeTakeFirstOrThrow()).n);
    const plans: Record<string, string[]> = {};
    const { pages } = storesOf(database);
    for (const shape of shapes) {
      const compiled = pages.pageQuery({
        filter: { environment: shape.environment, owner_team: shape.owner_team },
        order: "asc",
        limit: shape.limit,
        after: shape.after,
      });
      const explain = database.dialect === "sqlite" ? "explain query plan " : "explain ";
      const result = await db.executeQuery(
        CompiledQuery.raw(explain + compiled.sql, [...compiled.parameters]),
      );
      plans[shape.name] = result.rows.map((row) => planLine(row as Record<string, unknown>));
    }
    return {
      deployments,
      by_status: byStatus,
      live_by_role: liveByRole,
      events: await count("deployment_events"),
      models: await count("models"),
      plans,
    };
  } finally {
    await database.close();
  }
}

/** One line of a plan: SQLite's `detail` column or PostgreSQL's `QUERY PLAN`. */
function planLine(row: Record<string, unknown>): string {
  return String(row.detail ?? row["QUERY PLAN"] ?? JSON.stringify(row));
}
