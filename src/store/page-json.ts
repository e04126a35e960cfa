import type { CompiledQuery } from "kysely";
import type { DialectName, Executor } from "./database.js";
import type { DeploymentRow } from "./schema.js";

/** Every column of a deployment row, in the order a SQLite page carries them (deploymentFromArray). */
export const DEPLOYMENT_COLUMNS = [
  "id",
  "model",
  "model_version",
  "environment",
  "owner_team",
  "role",
  "status",
  "deployment_date",
  "training_data_cutoff",
  "ended_at",
  "endpoint",
  "tags",
  "ttl_extension_seconds",
  "created_at",
  "created_by",
  "last_heartbeat_at",
  "performance_state",
  "performance_ok_since",
  "performance_drop",
  "drift_state",
  "traffic_weight",
  "sticky_header",
  "last_traffic_at",
  "reported_version",
  "version_mismatch_at",
  "forecast",
] as const satisfies readonly (keyof DeploymentRow)[];

/**
 * Reads a page of deployments as one JSON text built by the database, rather than value by value
 * through the driver: cheaper for the server (see BENCHMARKS.md). Both databases write integers
 * and doubles so that they parse back exactly (SQLite ≥ 3.43 prints doubles round-trip;
 * PostgreSQL's int8 and float8 output is exact and shortest). Both aggregate the ordered subquery
 * in its order, though neither promises to: an ORDER BY inside the aggregate would, at a cost, so
 * the order is checked here instead and restored in the rare case it is not kept.
 */
export async function readPage(
  executor: Executor,
  dialect: DialectName,
  query: CompiledQuery,
  order: "asc" | "desc",
): Promise<{ rows: DeploymentRow[]; snapshot?: string }> {
  const { rows } = await executor.executeQuery<{ page: string; snapshot?: string }>(query);
  const page = rows[0]?.page;
  const snapshot = rows[0]?.snapshot;
  let deployments: DeploymentRow[] = [];
  if (page && dialect === "sqlite") {
    deployments = (JSON.parse(page) as unknown[][]).map(deploymentFromArray);
  } else if (page) {
    const [texts, integers, doubles] = JSON.parse(page) as [unknown[][], unknown[][], unknown[]];
    deployments = texts.map((text, i) => deploymentFromColumns(text, integers[i] as unknown[], doubles[i]));
  }
  const sign = order === "asc" ? 1 : -1;
  const byAge = (a: DeploymentRow, b: DeploymentRow) =>
    sign * (a.deployment_date - b.deployment_date || a.id - b.id);
  for (let i = 1; i < deployments.length; i++) {
    if (byAge(deployments[i - 1] as DeploymentRow, deployments[i] as DeploymentRow) > 0) {
      return { rows: deployments.sort(byAge), snapshot };
    }
  }
  return { rows: deployments, snapshot };
}

/**
 * The statement that reads the rows of `inner` as one JSON text (see readPage). PostgreSQL
 * aggregates a page's text columns, its integer columns and its one double column apart, each
 * row's values of one type as one array: `json_build_array` looks up how to write each value's
 * type for every value, which costs the backend more (see BENCHMARKS.md). PostgreSQL's page also
 * carries the snapshot its statement read in (see SnapshotPages).
 */
export function pageSql(dialect: DialectName, inner: string): string {
  return dialect === "sqlite"
    ? `select json_group_array(json_array(${DEPLOYMENT_COLUMNS.map((column) => `page_rows.${column}`).join(", ")})) as page from (${inner}) as page_rows`
    : `select json_build_array(${[
        `array[${PG_TEXT_COLUMNS.map((column) => `page_rows.${column}`).join(", ")}]`,
        `array[${PG_INTEGER_COLUMNS.map((column) => `page_rows.${column}`).join(", ")}]`,
        "page_rows.performance_drop",
      ]
        .map((values) => `coalesce(json_agg(${values}), '[]'::json)`)
        .join(", ")})::text as page, pg_current_snapshot()::text as snapshot from (${inner}) as page_rows`;
}

/** A PostgreSQL page's columns by type (see pageSql), in the order deploymentFromColumns reads them. */
const PG_TEXT_COLUMNS = [
  "model",
  "model_version",
  "environment",
  "owner_team",
  "role",
  "status",
  "endpoint",
  "tags",
  "created_by",
  "performance_state",
  "drift_state",
  "sticky_header",
  "reported_version",
  "forecast",
] as const satisfies readonly (keyof DeploymentRow)[];
const PG_INTEGER_COLUMNS = [
  "id",
  "deployment_date",
  "training_data_cutoff",
  "ended_at",
  "ttl_extension_seconds",
  "created_at",
  "last_heartbeat_at",
  "performance_ok_since",
  "traffic_weight",
  "last_traffic_at",
  "version_mismatch_at",
] as const satisfies readonly (keyof DeploymentRow)[];
/** Fails to compile when a column of deployments is in none of the three. */
const _everyColumnRead: Record<
  Exclude<
    keyof DeploymentRow,
    (typeof PG_TEXT_COLUMNS)[number] | (typeof PG_INTEGER_COLUMNS)[number] | "performance_drop"
  >,
  never
> = {};

/** A row of PostgreSQL's page from its text and integer columns and performance_drop (see pageSql). */
function deploymentFromColumns(t: unknown[], n: unknown[], performanceDrop: unknown): DeploymentRow {
  return {
    id: n[0],
    model: t[0],
    model_version: t[1],
    environment: t[2],
    owner_team: t[3],
    role: t[4],
    status: t[5],
    deployment_date: n[1],
    training_data_cutoff: n[2],
    ended_at: n[3],
    endpoint: t[6],
    tags: t[7],
    ttl_extension_seconds: n[4],
    created_at: n[5],
    created_by: t[8],
    last_heartbeat_at: n[6],
    performance_state: t[9],
    performance_ok_since: n[7],
    // PostgreSQL's JSON writes the doubles NaN and ±Infinity as strings; no metric should give them.
    performance_drop: typeof performanceDrop === "string" ? Number(performanceDrop) : performanceDrop,
    drift_state: t[10],
    traffic_weight: n[8],
    sticky_header: t[11],
    last_traffic_at: n[9],
    reported_version: t[12],
    version_mismatch_at: n[10],
    forecast: t[13],
  } as DeploymentRow;
}

/** A row of SQLite's page, its values in the order of DEPLOYMENT_COLUMNS. */
function deploymentFromArray(a: unknown[]): DeploymentRow {
  return {
    id: a[0],
    model: a[1],
    model_version: a[2],
    environment: a[3],
    owner_team: a[4],
    role: a[5],
    status: a[6],
    deployment_date: a[7],
    training_data_cutoff: a[8],
    ended_at: a[9],
    endpoint: a[10],
    tags: a[11],
    ttl_extension_seconds: a[12],
    created_at: a[13],
    created_by: a[14],
    last_heartbeat_at: a[15],
    performance_state: a[16],
    performance_ok_since: a[17],
    performance_drop: a[18],
    drift_state: a[19],
    traffic_weight: a[20],
    sticky_header: a[21],
    last_traffic_at: a[22],
    reported_version: a[23],
    version_mismatch_at: a[24],
    forecast: a[25],
  } as DeploymentRow;
}
