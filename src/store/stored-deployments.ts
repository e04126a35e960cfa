import type { DeploymentRow, NewDeploymentRow } from "./schema.js";

/** The rows an insert stores under these ids (see insertDeployments). */
export function storedDeployments(rows: NewDeploymentRow[], ids: number[]): DeploymentRow[] {
  if (ids.length < rows.length) throw new Error(`${rows.length} deployments to insert, ${ids.length} ids`);
  return rows.map((row, i) => newlyStored(row, ids[i]));
}

/**
 * A deployment row as the database stores a new one: the columns it was given, and null in the
 * nullable ones it was not (those only the lifecycle sets later among them).
 */
export function newlyStored(row: NewDeploymentRow, id: number | undefined): DeploymentRow {
  if (id === undefined) throw new Error(`the insert of ${row.model} returned no id`);
  // Every column by name, in the table's order, not `{ ...row, … }`: cheaper on the registration
  // round (see BENCHMARKS.md), and a column added to the table without a value here does not compile.
  return {
    id,
    model: row.model,
    model_version: row.model_version,
    environment: row.environment,
    owner_team: row.owner_team,
    role: row.role,
    status: row.status,
    deployment_date: row.deployment_date,
    training_data_cutoff: row.training_data_cutoff,
    ended_at: row.ended_at ?? null,
    endpoint: row.endpoint ?? null,
    tags: row.tags,
    ttl_extension_seconds: row.ttl_extension_seconds,
    created_at: row.created_at,
    created_by: row.created_by,
    last_heartbeat_at: row.last_heartbeat_at ?? null,
    performance_state: row.performance_state ?? null,
    performance_ok_since: row.performance_ok_since ?? null,
    performance_drop: row.performance_drop ?? null,
    drift_state: row.drift_state ?? null,
    traffic_weight: row.traffic_weight ?? null,
    sticky_header: row.sticky_header ?? null,
    last_traffic_at: row.last_traffic_at ?? null,
    reported_version: row.reported_version ?? null,
    version_mismatch_at: row.version_mismatch_at ?? null,
    forecast: row.forecast ?? null,
  };
}
