import { type CompiledQuery, sql } from "kysely";
import type { DeploymentRole, DeploymentStatus } from "../core/words.js";
import type { DialectName, Executor } from "./database.js";

export interface DeploymentFilter {
  model?: string;
  environment?: string;
  owner_team?: string;
  role?: DeploymentRole;
  statuses?: DeploymentStatus[];
  /** Epoch ms: only deployments with deployment_date < this. */
  deployed_before?: number;
  /** Epoch ms: only deployments with deployment_date >= this. */
  deployed_at_or_after?: number;
}

export interface DeploymentPage {
  filter: DeploymentFilter;
  /** `asc`: oldest deployment first (largest age first). */
  order: "asc" | "desc";
  limit: number;
  /** The (deployment_date, id) of the last row of the previous page. */
  after?: [number, number];
}

/**
 * One condition of a page's WHERE, as data. Its statement is built from everything but `value`
 * (see pageQuery), and its shape names everything but `value` (see pageShape): a statement kept
 * by shape is the statement these conditions build, whatever their values.
 */
type Condition =
  /** `column op ?`, the value bound. */
  | { kind: "bound"; column: BoundColumn; op: "=" | "<" | ">="; value: string | number }
  /**
   * `status in (…)` with the words written into the statement: statuses are a closed set, and
   * literals let the planners use the partial index deployments_live_age.
   */
  | { kind: "words"; column: "status"; words: readonly DeploymentStatus[] }
  /** Keyset paging after the row (date, id) of the previous page, in the page's order. */
  | { kind: "after"; op: ">" | "<"; date: number; id: number };

type BoundColumn = "model" | "environment" | "owner_team" | "role" | "deployment_date";

/**
 * Each filter field's condition. A field of DeploymentFilter without an entry here does not
 * compile; entries are applied in this order, which is the order the statement binds them.
 */
const FILTER_CONDITIONS: {
  [K in keyof DeploymentFilter]-?: (value: NonNullable<DeploymentFilter[K]>) => Condition | undefined;
} = {
  model: (value) => bound("model", "=", value),
  environment: (value) => bound("environment", "=", value),
  owner_team: (value) => bound("owner_team", "=", value),
  role: (value) => bound("role", "=", value),
  statuses: (words) => (words.length > 0 ? { kind: "words", column: "status", words } : undefined),
  deployed_before: (value) => bound("deployment_date", "<", value),
  deployed_at_or_after: (value) => bound("deployment_date", ">=", value),
};

const FILTER_FIELDS = Object.keys(FILTER_CONDITIONS) as (keyof DeploymentFilter)[];

function bound(column: BoundColumn, op: "=" | "<" | ">=", value: string | number): Condition {
  return { kind: "bound", column, op, value };
}

/** A page's conditions, in the order its statement binds their values. */
function conditionsOf(page: DeploymentPage): Condition[] {
  const conditions: Condition[] = [];
  for (const field of FILTER_FIELDS) {
    const value = page.filter[field];
    // An empty string filters nothing, as the API has always read it.
    if (value === undefined || value === "") continue;
    const condition = (FILTER_CONDITIONS[field] as (value: unknown) => Condition | undefined)(value);
    if (condition) conditions.push(condition);
  }
  if (page.after) {
    const [date, id] = page.after;
    conditions.push({ kind: "after", op: page.order === "asc" ? ">" : "<", date, id });
  }
  return conditions;
}

/**
 * What makes two pages one statement (the dialect, order, limit and each condition but its
 * value), and the values that statement binds, in order.
 */
export function pageShape(
  dialect: DialectName,
  page: DeploymentPage,
): { shape: string; parameters: unknown[] } {
  const parameters: unknown[] = [];
  let shape = `${dialect} ${page.order} ${page.limit}`;
  for (const condition of conditionsOf(page)) {
    switch (condition.kind) {
      case "bound":
        shape += ` ${condition.column}${condition.op}?`;
        parameters.push(condition.value);
        break;
      case "words":
        shape += ` ${condition.column} in ${condition.words.join(",")}`;
        break;
      case "after":
        shape += ` after${condition.op}`;
        parameters.push(condition.date, condition.date, condition.id);
        break;
    }
  }
  return { shape, parameters };
}

/**
 * The query of a page of deployments, in age order after the cursor (also what the registry
 * benchmark asks the planner to explain).
 */
export function pageQuery(executor: Executor, page: DeploymentPage): CompiledQuery {
  let query = executor.selectFrom("deployments").selectAll();
  for (const condition of conditionsOf(page)) {
    switch (condition.kind) {
      case "bound":
        query = query.where(condition.column, condition.op, condition.value);
        break;
      case "words": {
        const [only, ...more] = condition.words;
        query =
          only !== undefined && more.length === 0
            ? query.where(condition.column, "=", sql.lit(only))
            : query.where(
                condition.column,
                "in",
                condition.words.map((word) => sql.lit(word)),
              );
        break;
      }
      case "after": {
        // Spelled out rather than as a row comparison, with the redundant bound on
        // deployment_date first, so that both planners read it as a range of the (…,
        // deployment_date, id) index after any equality filter; PostgreSQL does not for
        // `(a, b) > (x, y)` there.
        const { op, date, id } = condition;
        query = query
          .where("deployment_date", `${op}=`, date)
          .where((eb) => eb.or([eb("deployment_date", op, date), eb("id", op, id)]));
        break;
      }
    }
  }
  return query
    .orderBy("deployment_date", page.order)
    .orderBy("id", page.order)
    .limit(sql.lit(limitOf(page.limit)))
    .compile();
}

/**
 * A page's LIMIT, written into the statement rather than bound, which SQLite runs faster (see
 * BENCHMARKS.md). Limits are few (the API's 1–500, plus one, and the stage filter's chunks), so
 * each filter's shape still makes only a few statements. Only a whole number is written into SQL.
 */
function limitOf(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new Error(`a page limit must be a whole number, not ${limit}`);
  return limit;
}
