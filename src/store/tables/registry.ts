import type { Generated, Insertable, Selectable } from "kysely";
import type { DeploymentRole, DeploymentStatus } from "../../core/words.js";

// Models, their versions, deployments and their events, golden versions: the registry's tables.

export interface ModelsTable {
  name: string;
  owner_team: string;
  created_at: number;
}

export interface ModelVersionsTable {
  model: string;
  model_version: string;
  training_data_cutoff: number;
  created_at: number;
}

export interface DeploymentsTable {
  id: Generated<number>;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: DeploymentRole;
  status: DeploymentStatus;
  deployment_date: number;
  training_data_cutoff: number;
  ended_at: number | null;
  endpoint: string | null;
  /** JSON object of string tags. */
  tags: string;
  ttl_extension_seconds: number;
  created_at: number;
  created_by: string;
  /** The last liveness heartbeat from its endpoint, or null if none ever came. */
  last_heartbeat_at: Generated<number | null>;
  /** What the last sweep found of its performance: `ok`, `degraded`, `insufficient_data`; null without metrics. */
  performance_state: Generated<string | null>;
  /** Since when it has held its performance target, as the last sweep found. */
  performance_ok_since: Generated<number | null>;
  /** How far its latest judged window fell below the baseline, relative; null without metrics. */
  performance_drop: Generated<number | null>;
  /** The last drift verdict (`stable`, `possible`, `drifted`); null without drift monitoring. */
  drift_state: Generated<string | null>;
  /** A canary's share of its model's traffic, percent (0–100); null for other roles. */
  traffic_weight: Generated<number | null>;
  /** The request header whose value keeps one client on one side of a canary split; null splits at random. */
  sticky_header: Generated<string | null>;
  /** The end of the last gateway report in which it answered a request without error. */
  last_traffic_at: Generated<number | null>;
  /** The version its upstream last stated, when that differed from `model_version`. */
  reported_version: Generated<string | null>;
  /** When a gateway last saw that mismatch; null once a report shows the right version again. */
  version_mismatch_at: Generated<number | null>;
  /**
   * JSON (JsonColumns.forecast): the last sweep's forecast of when it crosses its performance
   * threshold, or why there is none; null until a sweep forecasts it.
   */
  forecast: Generated<string | null>;
}

export interface DeploymentEventsTable {
  id: Generated<number>;
  /** Null for events of a model in an environment rather than of one deployment (golden set). */
  deployment_id: number | null;
  model: string;
  environment: string;
  type: string;
  actor: string;
  at: number;
  /** JSON object with what the event needs to be understood on its own. */
  data: string;
}

export interface GoldenVersionsTable {
  model: string;
  environment: string;
  model_version: string;
  set_at: number;
  set_by: string;
}

export type DeploymentRow = Selectable<DeploymentsTable>;
export type NewDeploymentRow = Insertable<DeploymentsTable>;
export type EventRow = Selectable<DeploymentEventsTable>;
