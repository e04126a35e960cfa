import { Gauge, type Registry } from "prom-client";
import { AGE_STAGES } from "../../core/age.js";
import { DRIFT_ERROR_STATE } from "../../core/drift-finding.js";
import type { FleetRow, FleetRows } from "../../lifecycle/fleet-rows.js";

/** The labels of every per-deployment series: bounded by the live fleet, never client-chosen. */
export const DEPLOYMENT_LABELS = ["model", "model_version", "environment", "owner_team", "role"] as const;
export type DeploymentLabels = Record<(typeof DEPLOYMENT_LABELS)[number], string>;

/** The performance states a sweep stores (see evaluatePerformance). */
export const PERFORMANCE_STATES = ["ok", "degraded", "insufficient_data"] as const;
/** The drift states a sweep stores (see driftStateOf), and `error` when it could not compare. */
export const DRIFT_STATES = ["stable", "possible", "drifted", DRIFT_ERROR_STATE] as const;

/** What one scrape reads of the store: a handful of queries, whatever the size of the fleet. */
export interface ScrapeSource {
  fleetRows(): Promise<FleetRows>;
  openAlerts(): Promise<{ kind: string; severity: string; count: number }[]>;
  lastSweeps(): Promise<{ last_run: number | null; last_success: number | null }>;
  waitingDeliveries(): Promise<{ channel: string; state: "pending" | "failed"; count: number }[]>;
}

export interface Scrape {
  rows: FleetRow[];
  alerts: Awaited<ReturnType<ScrapeSource["openAlerts"]>>;
  sweeps: Awaited<ReturnType<ScrapeSource["lastSweeps"]>>;
  deliveries: Awaited<ReturnType<ScrapeSource["waitingDeliveries"]>>;
}

export function labelsOf(row: Pick<FleetRow, keyof DeploymentLabels>): DeploymentLabels {
  return {
    model: row.model,
    model_version: row.model_version,
    environment: row.environment,
    owner_team: row.owner_team,
    role: row.role,
  };
}

/**
 * The gauges computed at scrape time from the store: one per-deployment set for every live
 * deployment, open alerts, the sweep log's last runs and the deliveries waiting. Each gauge's
 * collect() awaits the same scrape (`collect`), which reads the store once and sets them all:
 * nothing is kept in step by hand, and a deployment that ended is gone from the next scrape.
 */
export class FleetGauges {
  private readonly deployment: ReturnType<typeof deploymentGauges>;
  private readonly other: ReturnType<typeof otherGauges>;

  constructor(registry: Registry, collect: () => Promise<void>) {
    const make: MakeGauge = (name, help, labelNames) =>
      new Gauge({
        name,
        help,
        labelNames,
        registers: [registry],
        collect: async () => {
          await collect();
        },
      });
    this.deployment = deploymentGauges((name, help, extra = []) =>
      make(`tenure_deployment_${name}`, help, [...DEPLOYMENT_LABELS, ...extra]),
    );
    this.other = otherGauges(make);
  }

  /** Sets every gauge from one scrape's reads, dropping the series of the previous one. */
  set(scrape: Scrape): void {
    for (const gauge of [...Object.values(this.deployment), ...Object.values(this.other)]) gauge.reset();
    // Oldest first: where two live deployments share every label, the newer one's values win.
    for (const row of scrape.rows) this.setDeployment(row);
    const o = this.other;
    for (const a of scrape.alerts) o.alerts.set({ kind: a.kind, severity: a.severity }, a.count);
    if (scrape.sweeps.last_run !== null) o.last_run.set(scrape.sweeps.last_run / 1000);
    if (scrape.sweeps.last_success !== null) o.last_success.set(scrape.sweeps.last_success / 1000);
    for (const d of scrape.deliveries) {
      (d.state === "pending" ? o.pending : o.dead_lettered).set({ channel: d.channel }, d.count);
    }
  }

  private setDeployment(row: FleetRow): void {
    const g = this.deployment;
    const labels = labelsOf(row);
    const { age } = row;
    g.age.set(labels, age.deployment_age_seconds);
    g.data_age.set(labels, age.data_age_seconds);
    if (age.performance_age_seconds !== null) g.performance_age.set(labels, age.performance_age_seconds);
    g.ttl.set(labels, age.ttl_seconds);
    g.review_at.set(labels, row.review_at_seconds);
    if (row.max_data_age_seconds !== null) g.max_data_age.set(labels, row.max_data_age_seconds);
    if (age.health_score !== null) g.health.set(labels, age.health_score);
    for (const stage of AGE_STAGES) g.stage.set({ ...labels, stage }, age.stage === stage ? 1 : 0);
    g.exempt.set(labels, age.exempt ? 1 : 0);
    const performance = row.performance;
    if (performance?.state) {
      for (const state of PERFORMANCE_STATES)
        g.performance_state.set({ ...labels, state }, performance.state === state ? 1 : 0);
    }
    if (performance) {
      const metric = { ...labels, metric: performance.metric };
      if (performance.value !== null) g.metric.set(metric, performance.value);
      if (performance.target !== null) g.metric_target.set(metric, performance.target);
      if (performance.baseline !== null) g.metric_baseline.set(metric, performance.baseline);
    }
    if (row.drift) {
      for (const state of DRIFT_STATES)
        g.drift_state.set({ ...labels, state }, row.drift.state === state ? 1 : 0);
      if (row.drift.share !== null) g.drift_share.set(labels, row.drift.share);
    }
    const seen = Math.max(timeOf(row.last_heartbeat_at), timeOf(row.last_traffic_at));
    if (seen > Number.NEGATIVE_INFINITY) g.last_seen.set(labels, seen / 1000);
    if (row.silence_after_seconds !== null) g.silence_after.set(labels, row.silence_after_seconds);
  }
}

type MakeGauge = (name: string, help: string, labelNames: readonly string[]) => Gauge;

function deploymentGauges(g: (name: string, help: string, extra?: string[]) => Gauge) {
  return {
    age: g("age_seconds", "Deployment age: seconds since its deployment_date."),
    data_age: g("data_age_seconds", "Data age: seconds since its training_data_cutoff."),
    performance_age: g(
      "performance_age_seconds",
      "Seconds it has held its performance target; absent without a judgement.",
    ),
    ttl: g("ttl_seconds", "Its TTL: the policy's max_age plus review extensions."),
    review_at: g("review_at_seconds", "The deployment age at which a review is due (TTL x review_at)."),
    max_data_age: g("max_data_age_seconds", "Its policy's max_data_age; absent when none."),
    health: g("health_score", "Health score, 0-100: the three clocks, performance and drift."),
    stage: g("stage", "1 for its age stage (fresh, due, expired), 0 for the others.", ["stage"]),
    exempt: g("exempt", "1 when its policy is exempt: its age is shown but never due or expired."),
    performance_state: g(
      "performance_state",
      "1 for the performance state the last sweep stored (ok, degraded, insufficient_data), 0 for the others.",
      ["state"],
    ),
    drift_state: g(
      "drift_state",
      "1 for the drift state the last sweep stored (stable, possible, drifted, error), 0 for the others.",
      ["state"],
    ),
    drift_share: g(
      "drift_share",
      "Share (0-1) of its monitored features that drifted, where known: 0 when stable, as its open drifted alert measured when drifted.",
    ),
    metric: g("metric", "The mean of the latest judged window of the metric its policy targets.", ["metric"]),
    metric_target: g("metric_target", "Its policy's target for the metric.", ["metric"]),
    metric_baseline: g("metric_baseline", "The metric's baseline given at registration.", ["metric"]),
    last_seen: g(
      "last_seen_timestamp_seconds",
      "When it last showed life (a liveness heartbeat, or a request answered through a gateway), Unix seconds.",
    ),
    silence_after: g(
      "silence_after_seconds",
      "How long its policy lets it go without a sign of life; absent when it sets no limit.",
    ),
  };
}

function otherGauges(make: MakeGauge) {
  return {
    alerts: make("tenure_alerts_open", "Open alerts, per kind and severity.", ["kind", "severity"]),
    last_run: make(
      "tenure_sweep_last_run_timestamp_seconds",
      "When the latest sweep (of any replica) ended, done or failed, Unix seconds.",
      [],
    ),
    last_success: make(
      "tenure_sweep_last_success_timestamp_seconds",
      "When the latest sweep that was done (not failed) ended, Unix seconds.",
      [],
    ),
    pending: make(
      "tenure_alert_deliveries_pending",
      "Deliveries waiting for their first or next attempt, per channel.",
      ["channel"],
    ),
    dead_lettered: make(
      "tenure_alert_deliveries_dead_lettered",
      "Deliveries that failed for good and wait for `tenure deliveries retry`, per channel.",
      ["channel"],
    ),
  };
}

const timeOf = (iso: string | null) => (iso === null ? Number.NEGATIVE_INFINITY : Date.parse(iso));
