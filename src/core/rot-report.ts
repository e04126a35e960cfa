import { isoTime as iso } from "./iso-time.js";
import {
  type AgeItem,
  type DueItem,
  type ExpiredItem,
  type ForecastItem,
  REPORT_HORIZON_SECONDS,
  REPORT_TOP,
  type ReportAlert,
  type ReportDeployment,
  type ReportInput,
  type ReportSubject,
  type RotReport,
  type StateItem,
  type TeamReport,
} from "./rot-report-types.js";

export * from "./rot-report-types.js";

/**
 * The rot report: per team, what expired, what is due soon, what is forecast to breach its
 * target, what degraded or drifted, the oldest models and the stalest training data, each with
 * its numbers. Composed here from rows the lifecycle reads; rendered by rot-report-render.ts.
 * Pure: `now` and every row are passed in.
 */

/** Composes the report: one TeamReport per team with live deployments or alerts in the period. */
export function composeRotReport(input: ReportInput): RotReport {
  const horizon = input.horizon_seconds ?? REPORT_HORIZON_SECONDS;
  const top = input.top ?? REPORT_TOP;
  const periodStart = input.now - input.since_seconds * 1000;
  const teams = new Set<string>(input.teams ?? []);
  for (const d of input.deployments) teams.add(d.owner_team);
  for (const a of input.alerts) teams.add(a.owner_team);
  const context = { now: input.now, periodStart, horizon, top };
  return {
    generated_at: iso(input.now),
    since: iso(periodStart),
    since_seconds: input.since_seconds,
    horizon_seconds: horizon,
    teams: [...teams].sort().map((team) =>
      teamReport(
        team,
        input.deployments.filter((d) => d.owner_team === team),
        input.alerts.filter((a) => a.owner_team === team),
        context,
      ),
    ),
  };
}

interface Context {
  now: number;
  periodStart: number;
  horizon: number;
  top: number;
}

function teamReport(
  team: string,
  live: ReportDeployment[],
  alerts: ReportAlert[],
  context: Context,
): TeamReport {
  return {
    owner_team: team,
    live: live.length,
    expired: expiredOf(live, alerts, context),
    due: dueOf(live, context),
    forecast_breaches: forecastsOf(live, alerts, context),
    degraded: statesOf("degraded", live, alerts, context),
    drifted: statesOf("drifted", live, alerts, context),
    oldest: [...live]
      .sort((a, b) => b.deployment_age_seconds - a.deployment_age_seconds || a.id - b.id)
      .slice(0, context.top)
      .map(ageItem),
    stalest_data: [...live]
      .sort((a, b) => b.data_age_seconds - a.data_age_seconds || a.id - b.id)
      .slice(0, context.top)
      .map(ageItem),
  };
}

const subjectOf = (d: ReportDeployment): ReportSubject => ({
  deployment_id: d.id,
  model: d.model,
  model_version: d.model_version,
  environment: d.environment,
});

const alertSubject = (a: ReportAlert): ReportSubject => ({
  deployment_id: a.deployment_id,
  model: a.model,
  model_version: a.model_version,
  environment: a.environment,
});

/** An exempt policy's deployments never expire, nor fall due: the report leaves them out of both. */
function expiredOf(live: ReportDeployment[], alerts: ReportAlert[], context: Context): ExpiredItem[] {
  const items: ExpiredItem[] = live
    .filter((d) => d.stage === "expired" && !d.exempt)
    .map((d) => {
      const overdue = d.deployment_age_seconds - d.ttl_seconds;
      const expiredAt = context.now - overdue * 1000;
      return {
        ...subjectOf(d),
        current: true,
        in_period: expiredAt >= context.periodStart,
        expired_at: iso(expiredAt),
        deployment_age_seconds: d.deployment_age_seconds,
        ttl_seconds: d.ttl_seconds,
        overdue_seconds: overdue,
        resolution: null,
      };
    });
  const shown = new Set(items.map((i) => i.deployment_id));
  // Expired in the period and no longer live (retired, superseded): its alert says so.
  for (const a of alerts) {
    if (a.kind !== "expired" || shown.has(a.deployment_id) || a.opened_at < context.periodStart) continue;
    if (live.some((d) => d.id === a.deployment_id)) continue;
    shown.add(a.deployment_id);
    items.push({
      ...alertSubject(a),
      current: false,
      in_period: true,
      expired_at: iso(a.opened_at),
      deployment_age_seconds: null,
      ttl_seconds: null,
      overdue_seconds: null,
      resolution: a.resolution,
    });
  }
  return items.sort(
    (a, b) =>
      Number(b.current) - Number(a.current) ||
      (b.overdue_seconds ?? 0) - (a.overdue_seconds ?? 0) ||
      a.deployment_id - b.deployment_id,
  );
}

/** Due now, or expiring within the horizon. */
function dueOf(live: ReportDeployment[], context: Context): DueItem[] {
  return live
    .filter((d) => !d.exempt && d.stage !== "expired" && d.stage !== null)
    .map((d) => ({ d, left: d.ttl_seconds - d.deployment_age_seconds }))
    .filter(({ d, left }) => d.stage === "due" || left <= context.horizon)
    .sort((a, b) => a.left - b.left || a.d.id - b.d.id)
    .map(({ d, left }) => ({
      ...subjectOf(d),
      stage: d.stage,
      deployment_age_seconds: d.deployment_age_seconds,
      ttl_seconds: d.ttl_seconds,
      expires_at: iso(context.now + left * 1000),
      expires_in_seconds: left,
    }));
}

/**
 * A deployment's own forecast when it breaches within the horizon; else an open
 * `forecast_breach` finding of it, read from the finding's detail. One item a deployment.
 */
function forecastsOf(live: ReportDeployment[], alerts: ReportAlert[], context: Context): ForecastItem[] {
  const items = new Map<number, ForecastItem>();
  for (const d of live) {
    const f = d.forecast;
    if (f === null || !(f.breach_in_seconds <= context.horizon)) continue;
    items.set(d.id, { ...subjectOf(d), ...f });
  }
  for (const a of alerts) {
    if (a.kind !== "forecast_breach" || a.state !== "open" || items.has(a.deployment_id)) continue;
    const f = forecastFromDetail(a.detail, context.now);
    if (f) items.set(a.deployment_id, { ...alertSubject(a), ...f });
  }
  return [...items.values()].sort(
    (a, b) => a.breach_in_seconds - b.breach_in_seconds || a.deployment_id - b.deployment_id,
  );
}

/**
 * A `forecast_breach` finding's detail as a forecast: `metric`, `breach_at`, `interval_seconds`,
 * `slope_per_day`, `reason`. The time left is counted from `now` (the finding's own
 * `breach_in_seconds` was counted from its sweep). Undefined when the detail lacks a field.
 */
export function forecastFromDetail(
  detail: Record<string, unknown>,
  now: number,
): Omit<ForecastItem, keyof ReportSubject> | undefined {
  const { metric, breach_at, interval_seconds, slope_per_day, reason } = detail;
  const breachAt = typeof breach_at === "string" ? Date.parse(breach_at) : Number.NaN;
  if (typeof metric !== "string" || !Number.isFinite(breachAt)) return undefined;
  const interval =
    Array.isArray(interval_seconds) &&
    typeof interval_seconds[0] === "number" &&
    Number.isFinite(interval_seconds[0]) &&
    (interval_seconds[1] === null || typeof interval_seconds[1] === "number")
      ? ([interval_seconds[0], interval_seconds[1] ?? null] as [number, number | null])
      : ([0, null] as [number, null]);
  return {
    metric,
    breach_at: iso(breachAt),
    breach_in_seconds: Math.max(0, Math.floor((breachAt - now) / 1000)),
    interval_seconds: interval,
    slope_per_day: typeof slope_per_day === "number" && Number.isFinite(slope_per_day) ? slope_per_day : 0,
    source: "finding",
    reason: typeof reason === "string" ? reason : null,
  };
}

/** Degraded (or drifted) now, or with an alert of it opened in the period. */
function statesOf(
  kind: "degraded" | "drifted",
  live: ReportDeployment[],
  alerts: ReportAlert[],
  context: Context,
): StateItem[] {
  const items = new Map<number, StateItem>();
  const isNow = (d: ReportDeployment) =>
    kind === "degraded" ? d.performance?.state === "degraded" : d.drift?.state === "drifted";
  for (const d of live) {
    if (!isNow(d)) continue;
    items.set(d.id, { ...subjectOf(d), ...numbersOf(d, kind), current: true, in_period: false, ...noAlert });
  }
  const byId = new Map(live.map((d) => [d.id, d]));
  for (const a of alerts) {
    if (a.kind !== kind || a.opened_at < context.periodStart) continue;
    const known = items.get(a.deployment_id);
    // The newest alert of a deployment is the one listed (alerts come newest first or not at all).
    if (known?.in_period && known.opened_at !== null && Date.parse(known.opened_at) >= a.opened_at) continue;
    const d = byId.get(a.deployment_id);
    items.set(a.deployment_id, {
      ...alertSubject(a),
      // Degraded now: today's numbers; recovered or ended: the numbers its alert was opened with.
      ...(d && isNow(d) ? numbersOf(d, kind) : numbersOfDetail(a.detail, kind)),
      current: d ? isNow(d) : false,
      in_period: true,
      opened_at: iso(a.opened_at),
      resolved_at: a.resolved_at === null ? null : iso(a.resolved_at),
      resolution: a.resolution,
    });
  }
  return [...items.values()].sort(
    (a, b) =>
      Number(b.current) - Number(a.current) ||
      (b.drop ?? b.share ?? 0) - (a.drop ?? a.share ?? 0) ||
      a.deployment_id - b.deployment_id,
  );
}

const noAlert = { opened_at: null, resolved_at: null, resolution: null };

function numbersOf(
  d: ReportDeployment,
  kind: "degraded" | "drifted",
): Pick<StateItem, "metric" | "value" | "target" | "drop" | "share"> {
  if (kind === "drifted")
    return { metric: null, value: null, target: null, drop: null, share: d.drift?.share ?? null };
  return {
    metric: d.performance?.metric ?? null,
    value: d.performance?.value ?? null,
    target: d.performance?.target ?? null,
    drop: d.performance?.drop ?? null,
    share: null,
  };
}

function numbersOfDetail(
  detail: Record<string, unknown>,
  kind: "degraded" | "drifted",
): Pick<StateItem, "metric" | "value" | "target" | "drop" | "share"> {
  const num = (key: string) => {
    const value = detail[key];
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  };
  if (kind === "drifted")
    return { metric: null, value: null, target: null, drop: null, share: num("drifted_share") };
  return {
    metric: typeof detail.metric === "string" ? detail.metric : null,
    value: num("value"),
    target: num("target") ?? num("threshold"),
    drop: num("drop"),
    share: null,
  };
}

function ageItem(d: ReportDeployment): AgeItem {
  return {
    ...subjectOf(d),
    deployment_age_seconds: d.deployment_age_seconds,
    ttl_seconds: d.ttl_seconds,
    ttl_fraction: d.ttl_fraction,
    data_age_seconds: d.data_age_seconds,
    max_data_age_seconds: d.max_data_age_seconds,
  };
}
