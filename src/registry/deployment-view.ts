import { type AgeBlock, type AgePolicy, computeAge } from "../core/age.js";
import { forecastBlock } from "../core/decay/forecast-block.js";
import { DRIFT_ERROR_STATE } from "../core/drift-finding.js";
import { computeHealth, type HealthInput } from "../core/health.js";
import { isoTime } from "../core/iso-time.js";
import type { DeploymentRole, DeploymentStatus } from "../core/words.js";
import { parseJsonColumn, parseTags, readForecast } from "../store/json-columns.js";
import type { GoldenRecord, ModelRecord, VersionRecord } from "../store/model-store.js";
import type { DeploymentRow, EventRow } from "../store/schema.js";

/** A deployment as the API and the CLI show it. */
export interface DeploymentView {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: DeploymentRole;
  status: DeploymentStatus;
  deployment_date: string;
  training_data_cutoff: string;
  ended_at: string | null;
  endpoint: string | null;
  tags: Record<string, string>;
  created_at: string;
  created_by: string;
  last_heartbeat_at: string | null;
  last_traffic_at: string | null;
  /** The version its upstream last stated, while that differs from `model_version`. */
  reported_version: string | null;
  age: AgeBlock;
}

export interface EventView {
  id: number;
  deployment_id: number | null;
  model: string;
  environment: string;
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
}

/** ISO 8601 UTC with milliseconds, the wire's timestamps (four a row of every list). */
export const iso = isoTime;
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

export function toDeploymentView(row: DeploymentRow, policy: ViewPolicy, now: number): DeploymentView {
  return {
    id: row.id,
    model: row.model,
    model_version: row.model_version,
    environment: row.environment,
    owner_team: row.owner_team,
    role: row.role,
    status: row.status,
    deployment_date: iso(row.deployment_date),
    training_data_cutoff: iso(row.training_data_cutoff),
    ended_at: isoOrNull(row.ended_at),
    endpoint: row.endpoint,
    tags: parseTags(row.tags),
    created_at: iso(row.created_at),
    created_by: row.created_by,
    last_heartbeat_at: isoOrNull(row.last_heartbeat_at ?? null),
    last_traffic_at: isoOrNull(row.last_traffic_at ?? null),
    reported_version: row.version_mismatch_at === null ? null : (row.reported_version ?? null),
    age: ageOf(row, policy, now),
  };
}

/**
 * The age block, with the health score and verdict of a live deployment. Only live deployments
 * have a stage: a scheduled promotion is not fresh, it has not started.
 */
function ageOf(row: DeploymentRow, policy: ViewPolicy, now: number): AgeBlock {
  // computeAge returns a fresh block: it is completed in place rather than copied.
  const age = computeAge(row, policy, now);
  // Read without zod in the common case, and never thrown: a malformed value is a null forecast
  // that says why (readForecast).
  const stored = row.forecast ? readForecast(row.forecast) : null;
  const forecast = forecastBlock({ status: row.status, stored, policy }, now);
  age.forecast = forecast.forecast;
  age.forecast_reason = forecast.forecast_reason;
  if (row.status !== "active") {
    age.stage = null;
    return age;
  }
  const health = computeHealth({
    ttl_fraction: age.ttl_fraction,
    review_at: policy.review_at,
    data_age_seconds: age.data_age_seconds,
    max_data_age_seconds: policy.max_data_age_seconds ?? null,
    performance_state: row.performance_state as HealthInput["performance_state"],
    performance_drop: row.performance_drop ?? 0,
    // A drift that could not be judged (`error`) neither lowers the score nor clears it.
    drift_state:
      row.drift_state === DRIFT_ERROR_STATE ? null : (row.drift_state as HealthInput["drift_state"]),
    exempt: age.exempt,
  });
  age.health_score = health.score;
  age.verdict = health.verdict;
  return age;
}

/** What a view needs of the policy that governs the deployment. */
export type ViewPolicy = AgePolicy & {
  max_data_age_seconds?: number | null;
  /** The metric it targets; null without a target (no forecast); absent: as the last sweep found. */
  performance?: { metric: string } | null;
};

export function toEventView(row: EventRow): EventView {
  return { ...row, at: iso(row.at), data: parseJsonColumn("event_data", row.data) };
}

export interface VersionView {
  model_version: string;
  training_data_cutoff: string;
  created_at: string;
}

export interface EnvironmentView {
  environment: string;
  golden_version: string | null;
  live: DeploymentView[];
}

export interface ModelView {
  name: string;
  owner_team: string;
  created_at: string;
  versions: VersionView[];
  environments: EnvironmentView[];
}

export function toVersionView(version: VersionRecord): VersionView {
  return {
    model_version: version.model_version,
    training_data_cutoff: iso(version.training_data_cutoff),
    created_at: iso(version.created_at),
  };
}

/** Groups a model's live deployments and golden versions by environment, sorted by name. */
export function environmentsOf(live: DeploymentView[], golden: GoldenRecord[]): EnvironmentView[] {
  const names = new Set([...live.map((d) => d.environment), ...golden.map((g) => g.environment)]);
  return [...names].sort().map((environment) => ({
    environment,
    golden_version: golden.find((g) => g.environment === environment)?.model_version ?? null,
    live: live.filter((d) => d.environment === environment),
  }));
}

export function toModelView(
  model: ModelRecord,
  versions: VersionRecord[],
  live: DeploymentView[],
  golden: GoldenRecord[],
): ModelView {
  return {
    name: model.name,
    owner_team: model.owner_team,
    created_at: iso(model.created_at),
    versions: versions.map(toVersionView),
    environments: environmentsOf(live, golden),
  };
}
