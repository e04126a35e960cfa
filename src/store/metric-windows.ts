import { sql } from "kysely";
import type { WindowAggregate } from "../core/performance.js";
import type { Executor } from "./database.js";
import { ROLLUP_DAY_MS } from "./migrations/0015-metric-rollups.js";

/** What one window read asks: one metric of some deployments, in windows of `windowMs`, over [since, before). */
export interface WindowQuery {
  deploymentIds: number[];
  name: string;
  windowMs: number;
  before: number;
  since: number;
}

/**
 * Where a window read finds its sums: whole UTC days inside the range from the daily roll-ups,
 * the partial days at its ends (today, at a sweep) from the raw points. Null when the window is
 * not a whole number of days, so that only raw points can say which window a point falls in.
 */
export interface RollupPlan {
  /** Roll-up days [firstDay, endDay). */
  firstDay: number;
  endDay: number;
  /** Raw point ranges [from, to), each within one partial day; empty ones left out. */
  raw: { from: number; to: number }[];
}

/** Splits [since, before) into whole days (read from roll-ups) and partial ends (read from points). */
export function rollupPlan(windowMs: number, since: number, before: number): RollupPlan | null {
  if (windowMs <= 0 || windowMs % ROLLUP_DAY_MS !== 0) return null;
  const from = Math.max(0, since);
  const firstDay = Math.ceil(from / ROLLUP_DAY_MS);
  const endDay = Math.floor(before / ROLLUP_DAY_MS);
  if (firstDay >= endDay) return null;
  const raw = [
    { from, to: firstDay * ROLLUP_DAY_MS },
    { from: endDay * ROLLUP_DAY_MS, to: before },
  ].filter((r) => r.from < r.to);
  return { firstDay, endDay, raw };
}

/**
 * Each deployment's windows of one metric: sample count and Σ value × samples per window, windows
 * aligned to the epoch. A window of whole days sums the daily roll-ups of the days the range
 * covers whole, and the points of the partial days at its ends, in one statement: O(days) rows
 * rather than O(points) (BENCHMARKS.md, "metric roll-ups"). Any other window sums the points.
 * Both paths give the same counts, and the same sums up to the rounding of adding in a
 * different order.
 */
export async function readWindowAggregates(
  executor: Executor,
  query: WindowQuery,
): Promise<Map<number, WindowAggregate[]>> {
  if (query.deploymentIds.length === 0) return new Map();
  const plan = rollupPlan(query.windowMs, query.since, query.before);
  if (plan === null) return rawWindowAggregates(executor, query);
  const { deploymentIds, name, windowMs } = query;
  const daysPerWindow = windowMs / ROLLUP_DAY_MS;
  let parts = executor
    .selectFrom("metric_rollups")
    .select([
      "deployment_id",
      sql<number>`${sql.ref("day")} / ${sql.lit(daysPerWindow)}`.as("window_index"),
      "samples",
      "weighted_sum",
    ])
    .where("deployment_id", "in", deploymentIds)
    .where("name", "=", name)
    .where("day", ">=", plan.firstDay)
    .where("day", "<", plan.endDay);
  for (const range of plan.raw) {
    parts = parts.unionAll(
      executor
        .selectFrom("metric_points")
        .select([
          "deployment_id",
          sql<number>`${sql.ref("timestamp")} / ${sql.lit(windowMs)}`.as("window_index"),
          "sample_size as samples",
          sql<number>`${sql.ref("value")} * ${sql.ref("sample_size")}`.as("weighted_sum"),
        ])
        .where("deployment_id", "in", deploymentIds)
        .where("name", "=", name)
        .where("timestamp", ">=", range.from)
        .where("timestamp", "<", range.to),
    );
  }
  const rows = await executor
    .selectFrom(parts.as("parts"))
    .select([
      "deployment_id",
      "window_index",
      (eb) => eb.fn.sum<number>("samples").as("samples"),
      (eb) => eb.fn.sum<number>("weighted_sum").as("weighted_sum"),
    ])
    .groupBy(["deployment_id", "window_index"])
    .execute();
  return byDeployment(rows);
}

/**
 * The plain path: every point in the range, grouped by window. Integer division floors the
 * non-negative timestamps alike on both databases.
 */
export async function rawWindowAggregates(
  executor: Executor,
  query: WindowQuery,
): Promise<Map<number, WindowAggregate[]>> {
  if (query.deploymentIds.length === 0) return new Map();
  const index = sql<number>`${sql.ref("timestamp")} / ${sql.lit(query.windowMs)}`;
  const rows = await executor
    .selectFrom("metric_points")
    .select([
      "deployment_id",
      index.as("window_index"),
      (eb) => eb.fn.sum<number>("sample_size").as("samples"),
      sql<number>`sum(${sql.ref("value")} * ${sql.ref("sample_size")})`.as("weighted_sum"),
    ])
    .where("deployment_id", "in", query.deploymentIds)
    .where("name", "=", query.name)
    .where("timestamp", ">=", Math.max(0, query.since))
    .where("timestamp", "<", query.before)
    .groupBy(["deployment_id", index])
    .execute();
  return byDeployment(rows);
}

function byDeployment(
  rows: { deployment_id: number; window_index: number; samples: number; weighted_sum: number }[],
): Map<number, WindowAggregate[]> {
  const result = new Map<number, WindowAggregate[]>();
  for (const row of rows) {
    const list = result.get(row.deployment_id) ?? [];
    list.push({
      index: Number(row.window_index),
      samples: Number(row.samples),
      weighted_sum: Number(row.weighted_sum),
    });
    result.set(row.deployment_id, list);
  }
  return result;
}
