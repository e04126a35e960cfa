import { sql } from "kysely";
import type { WindowAggregate } from "../core/performance.js";
import type { Executor } from "./database.js";
import { ROLLUP_DAY_MS } from "./migrations/0015-metric-rollups.js";
import { ROLLUP_HOUR_MS } from "./migrations/0020-hourly-metric-rollups.js";

/** What one window read asks: one metric of some deployments, in windows of `windowMs`, over [since, before). */
export interface WindowQuery {
  deploymentIds: number[];
  name: string;
  windowMs: number;
  before: number;
  since: number;
}

/** A range of roll-up periods [first, end): days or hours since the epoch. */
export interface PeriodSpan {
  first: number;
  end: number;
}

/**
 * Where a window read finds its sums, coarsest first: whole UTC days inside the range from the
 * daily roll-ups (only for windows of whole days: a day then lies in one window), the whole hours
 * left from the hourly roll-ups, and the partial hours at its ends (the current hour, at a
 * sweep) from the raw points. A roll-up row sums at least one point of its period, and a day's
 * row at least one hour's, so taking each stretch from the coarsest table that can answer it
 * never reads more rows than a finer one would. Null when the window is not a whole number of
 * hours, or the range holds no whole hour: then only raw points can say which window a point
 * falls in.
 */
export interface RollupPlan {
  /** Daily roll-up days, or null. */
  days: PeriodSpan | null;
  /** Hourly roll-up hours, at most one before and one after the days; empty ones left out. */
  hours: PeriodSpan[];
  /** Raw point ranges [from, to), each within one partial hour; empty ones left out. */
  raw: { from: number; to: number }[];
}

const HOURS_A_DAY = ROLLUP_DAY_MS / ROLLUP_HOUR_MS;

/** Splits [since, before) into whole days, whole hours (read from roll-ups) and partial hours (read from points). */
export function rollupPlan(windowMs: number, since: number, before: number): RollupPlan | null {
  if (windowMs <= 0 || windowMs % ROLLUP_HOUR_MS !== 0) return null;
  const from = Math.max(0, since);
  const firstHour = Math.ceil(from / ROLLUP_HOUR_MS);
  const endHour = Math.floor(before / ROLLUP_HOUR_MS);
  if (firstHour >= endHour) return null;
  const raw = [
    { from, to: firstHour * ROLLUP_HOUR_MS },
    { from: endHour * ROLLUP_HOUR_MS, to: before },
  ].filter((r) => r.from < r.to);
  const firstDay = Math.ceil(firstHour / HOURS_A_DAY);
  const endDay = Math.floor(endHour / HOURS_A_DAY);
  if (windowMs % ROLLUP_DAY_MS !== 0 || firstDay >= endDay) {
    return { days: null, hours: [{ first: firstHour, end: endHour }], raw };
  }
  const hours = [
    { first: firstHour, end: firstDay * HOURS_A_DAY },
    { first: endDay * HOURS_A_DAY, end: endHour },
  ].filter((h) => h.first < h.end);
  return { days: { first: firstDay, end: endDay }, hours, raw };
}

/**
 * Each deployment's windows of one metric: sample count and Σ value × samples per window, windows
 * aligned to the epoch. A window of whole hours sums, in one statement, the roll-ups and points
 * its plan names: O(days + hours at the ends) rows for daily windows, O(hours) for hourly ones,
 * rather than O(points) (BENCHMARKS.md, "Metric roll-ups"). Any other window sums the points.
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
  const [first, ...rest] = planParts(executor, query, plan);
  if (first === undefined) return new Map();
  const parts = rest.reduce((union, part) => union.unionAll(part), first);
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

/** One select per stretch of the plan, each a range scan of its table's primary key. */
function planParts(executor: Executor, query: WindowQuery, plan: RollupPlan) {
  const { deploymentIds, name, windowMs } = query;
  const days = plan.days === null ? [] : [plan.days];
  return [
    ...days.map((span) =>
      executor
        .selectFrom("metric_rollups")
        .select([
          "deployment_id",
          sql<number>`${sql.ref("day")} / ${sql.lit(windowMs / ROLLUP_DAY_MS)}`.as("window_index"),
          "samples",
          "weighted_sum",
        ])
        .where("deployment_id", "in", deploymentIds)
        .where("name", "=", name)
        .where("day", ">=", span.first)
        .where("day", "<", span.end),
    ),
    ...plan.hours.map((span) =>
      executor
        .selectFrom("metric_hourly_rollups")
        .select([
          "deployment_id",
          sql<number>`${sql.ref("hour")} / ${sql.lit(windowMs / ROLLUP_HOUR_MS)}`.as("window_index"),
          "samples",
          "weighted_sum",
        ])
        .where("deployment_id", "in", deploymentIds)
        .where("name", "=", name)
        .where("hour", ">=", span.first)
        .where("hour", "<", span.end),
    ),
    ...plan.raw.map((range) =>
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
    ),
  ];
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
