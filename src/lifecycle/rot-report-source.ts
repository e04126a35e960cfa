import type { AgeBlock } from "../core/age.js";
import {
  composeRotReport,
  type ReportAlert,
  type ReportDeployment,
  type ReportForecast,
  type RotReport,
} from "../core/rot-report.js";
import { parseJsonColumn } from "../store/json-columns.js";
import type { AlertRow } from "../store/schema.js";
import { type FleetRow, type FleetRowsSource, readFleetRows } from "./fleet-rows.js";

/** Which deployments a rot report covers, and how far back its period reaches. */
export interface RotReportQuery {
  owner_team?: string;
  since_seconds: number;
}

/** Alerts a report reads at most: a bound on one read, far above what a team's period holds. */
const MAX_REPORT_ALERTS = 10_000;

/** The alert kinds whose openings in the period the report lists (expired, degraded, drifted). */
const PERIOD_KINDS = ["expired", "degraded", "drifted"];

/** The finding a sweep raises when a forecast crosses its target before the next review point. */
const FORECAST_BREACH = "forecast_breach";

/**
 * The rot report of the live deployments in scope at `now`: the fleet rows (as the dashboard
 * reads them) and the alerts of the period, composed by core/rot-report.ts.
 */
export async function readRotReport(
  source: FleetRowsSource,
  query: RotReportQuery,
  now: number,
): Promise<RotReport> {
  const scope = { owner_team: query.owner_team || undefined };
  const [rows, alerts] = await Promise.all([
    readFleetRows(source, scope, now),
    source.stores.alerts.reportAlerts({
      opened_since: now - query.since_seconds * 1000,
      kinds: PERIOD_KINDS,
      open_kinds: [FORECAST_BREACH],
      owner_team: scope.owner_team,
      limit: MAX_REPORT_ALERTS,
    }),
  ]);
  return composeRotReport({
    now,
    since_seconds: query.since_seconds,
    deployments: rows.items.map(toReportDeployment),
    alerts: alerts.map(toReportAlert),
    teams: scope.owner_team ? [scope.owner_team] : [],
  });
}

function toReportDeployment(row: FleetRow): ReportDeployment {
  const performance = row.performance;
  return {
    id: row.id,
    model: row.model,
    model_version: row.model_version,
    environment: row.environment,
    owner_team: row.owner_team,
    role: row.role,
    deployment_age_seconds: row.age.deployment_age_seconds,
    data_age_seconds: row.age.data_age_seconds,
    ttl_seconds: row.age.ttl_seconds,
    ttl_fraction: row.age.ttl_fraction,
    stage: row.age.stage,
    exempt: row.age.exempt,
    max_data_age_seconds: row.max_data_age_seconds,
    performance: performance
      ? {
          state: performance.state,
          metric: performance.metric,
          value: performance.value,
          target: performance.target,
          drop: performance.drop,
        }
      : null,
    drift: row.drift,
    forecast: forecastOf(row.age),
  };
}

/**
 * The forecast of a deployment's age block (issue 20: `age.forecast`, or null with
 * `age.forecast_reason`), as the report lists it.
 */
export function forecastOf(age: Pick<AgeBlock, "forecast" | "forecast_reason">): ReportForecast | null {
  const f = age.forecast;
  if (!f) return null;
  return {
    metric: f.metric,
    breach_at: f.breach_at,
    breach_in_seconds: f.breach_in_seconds,
    interval_seconds: f.interval_seconds,
    slope_per_day: f.slope_per_day,
    source: "forecast",
    reason: age.forecast_reason,
  };
}

function toReportAlert(row: AlertRow): ReportAlert {
  return {
    deployment_id: row.deployment_id,
    kind: row.kind,
    state: row.state,
    model: row.model,
    model_version: row.model_version,
    environment: row.environment,
    owner_team: row.owner_team,
    summary: row.summary,
    detail: parseJsonColumn("alert_detail", row.detail),
    opened_at: row.opened_at,
    resolved_at: row.resolved_at,
    resolution: row.resolution,
  };
}
