import type { AgeStage } from "./age.js";

/** The rot report's rows and sections (see rot-report.ts, which composes them). */

/** How far ahead the report looks for expiries and forecast breaches: 14 days. */
export const REPORT_HORIZON_SECONDS = 14 * 86_400;

/** How many of the oldest models and of the stalest training data a team's report lists. */
export const REPORT_TOP = 5;

/** A forecast breach of a deployment's performance target (issue 20, point 2). */
export interface ReportForecast {
  metric: string;
  breach_at: string;
  breach_in_seconds: number;
  /** The interval of the breach, seconds from now; its high end is null when unbounded. */
  interval_seconds: [number, number | null];
  slope_per_day: number;
  /** Where it was read: the deployment's `age.forecast`, or an open `forecast_breach` finding. */
  source: "forecast" | "finding";
  reason: string | null;
}

/** One live deployment as the report reads it. */
export interface ReportDeployment {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: string;
  deployment_age_seconds: number;
  data_age_seconds: number;
  ttl_seconds: number;
  ttl_fraction: number;
  stage: AgeStage | null;
  exempt: boolean;
  max_data_age_seconds: number | null;
  performance: {
    state: string | null;
    metric: string;
    value: number | null;
    target: number | null;
    drop: number | null;
  } | null;
  drift: { state: string; share: number | null } | null;
  forecast: ReportForecast | null;
}

/** An alert opened in the report's period (any state), or an open `forecast_breach`. */
export interface ReportAlert {
  deployment_id: number;
  kind: string;
  state: string;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  summary: string;
  detail: Record<string, unknown>;
  opened_at: number;
  resolved_at: number | null;
  resolution: string | null;
}

export interface ReportInput {
  now: number;
  since_seconds: number;
  horizon_seconds?: number;
  top?: number;
  deployments: ReportDeployment[];
  alerts: ReportAlert[];
  /** Teams to report even with nothing live (the one a --team names). */
  teams?: string[];
}

/** What every item names: the deployment. */
export interface ReportSubject {
  deployment_id: number;
  model: string;
  model_version: string;
  environment: string;
}

export interface ExpiredItem extends ReportSubject {
  /** Still live and expired now; false for one that expired in the period and has ended since. */
  current: boolean;
  /** Expired within the period (rather than before it). */
  in_period: boolean;
  expired_at: string;
  deployment_age_seconds: number | null;
  ttl_seconds: number | null;
  /** How long past its TTL; null once ended. */
  overdue_seconds: number | null;
  resolution: string | null;
}

export interface DueItem extends ReportSubject {
  stage: AgeStage | null;
  deployment_age_seconds: number;
  ttl_seconds: number;
  expires_at: string;
  expires_in_seconds: number;
}

export interface ForecastItem extends ReportSubject, Omit<ReportForecast, "source" | "reason"> {
  source: ReportForecast["source"];
  reason: string | null;
}

export interface StateItem extends ReportSubject {
  /** Degraded (or drifted) now. */
  current: boolean;
  /** An alert of it opened in the period. */
  in_period: boolean;
  /** When its alert opened, if one did in the period. */
  opened_at: string | null;
  resolved_at: string | null;
  resolution: string | null;
  metric: string | null;
  value: number | null;
  target: number | null;
  /** Performance: the drop against baseline; drift: the share of drifted features. */
  drop: number | null;
  share: number | null;
}

export interface AgeItem extends ReportSubject {
  deployment_age_seconds: number;
  ttl_seconds: number;
  ttl_fraction: number;
  data_age_seconds: number;
  max_data_age_seconds: number | null;
}

export interface TeamReport {
  owner_team: string;
  live: number;
  expired: ExpiredItem[];
  due: DueItem[];
  forecast_breaches: ForecastItem[];
  degraded: StateItem[];
  drifted: StateItem[];
  oldest: AgeItem[];
  stalest_data: AgeItem[];
}

export interface RotReport {
  generated_at: string;
  /** The start of the period: `generated_at` less `since_seconds`. */
  since: string;
  since_seconds: number;
  horizon_seconds: number;
  teams: TeamReport[];
}
