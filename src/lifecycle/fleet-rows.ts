import type { AgeBlock } from "../core/age.js";
import { isoTime as iso } from "../core/iso-time.js";
import { type JudgedWindow, latestJudgedWindow, type PerformancePolicy } from "../core/performance.js";
import type { Policy } from "../core/policy.js";
import type { DeploymentRole } from "../core/words.js";
import { toDeploymentView } from "../registry/deployment-view.js";
import type { LiveAlertKey } from "../store/alert-store.js";
import type { LiveScope } from "../store/deployment-store.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";

/** One live deployment as the dashboard's fleet table and /metrics read it. */
export interface FleetRow {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: DeploymentRole;
  deployment_date: string;
  training_data_cutoff: string;
  endpoint: string | null;
  age: AgeBlock;
  review_at_seconds: number;
  max_data_age_seconds: number | null;
  silence_after_seconds: number | null;
  performance: FleetPerformance | null;
  drift: { state: string; share: number | null } | null;
  last_heartbeat_at: string | null;
  last_traffic_at: string | null;
  open_alerts: number;
  open_alert_kinds: string[];
}

export interface FleetPerformance {
  state: string | null;
  drop: number | null;
  metric: string;
  value: number | null;
  target: number | null;
  baseline: number | null;
  at: string | null;
}

export interface FleetRows {
  generated_at: string;
  items: FleetRow[];
}

/** What a fleet read needs: the stores, and the policy that governs each deployment. */
export interface FleetRowsSource {
  stores: Pick<Stores, "deployments" | "alerts" | "metrics">;
  policyOf(row: DeploymentRow): Policy;
}

/**
 * How far back the latest judged value of a metric is looked for, in windows of its policy: a
 * bound on what a read scans, which /metrics pays on every scrape. A metric silent for longer
 * shows no value; its state stays what the last sweep stored.
 */
export const VALUE_LOOKBACK_WINDOWS = 30;

/**
 * Windows read first: the latest judged one is almost always among them, so a read scans a few
 * windows of each deployment, and the lookback only for those whose metric went quiet.
 */
const RECENT_WINDOWS = 3;

/** Deployment ids a metric query names at most, so that a statement's parameters stay bounded. */
const IDS_PER_QUERY = 1000;

/**
 * Every live deployment in `scope`, oldest first, with its age block, its policy's limits, its
 * performance and drift as the last sweep stored them, its last signs of life and its open
 * alerts. A handful of queries whatever the size of the fleet: the live rows a page of 1,000 at a
 * time, the open alerts of live deployments in one, and per metric a policy targets, its recent
 * windows and baselines (a query per 1,000 deployments).
 */
export async function readFleetRows(
  source: FleetRowsSource,
  scope: LiveScope,
  now: number,
): Promise<FleetRows> {
  const { stores } = source;
  const rows: DeploymentRow[] = [];
  for (let after = 0; ; ) {
    const page = await stores.deployments.liveDeployments(after, 1000, scope);
    rows.push(...page);
    if (page.length < 1000) break;
    after = page.at(-1)?.id ?? after;
  }
  const policies = rows.map((row) => source.policyOf(row));
  const [alerts, performance] = await Promise.all([
    stores.alerts.openAlertsOfLive(scope),
    performanceOf(stores.metrics, rows, policies, now),
  ]);
  const alertsBy = groupBy(alerts, (a) => a.deployment_id);
  const items = rows.map((row, i) =>
    toFleetRow(row, policies[i] as Policy, now, alertsBy.get(row.id) ?? [], performance.get(row.id)),
  );
  items.sort((a, b) => b.age.deployment_age_seconds - a.age.deployment_age_seconds || a.id - b.id);
  return { generated_at: iso(now), items };
}

function toFleetRow(
  row: DeploymentRow,
  policy: Policy,
  now: number,
  alerts: LiveAlertKey[],
  measured: Measured | undefined,
): FleetRow {
  const { age } = toDeploymentView(row, policy, now);
  return {
    id: row.id,
    model: row.model,
    model_version: row.model_version,
    environment: row.environment,
    owner_team: row.owner_team,
    role: row.role,
    deployment_date: iso(row.deployment_date),
    training_data_cutoff: iso(row.training_data_cutoff),
    endpoint: row.endpoint,
    age,
    // The age from which stageOf says due; rounded to the millisecond, as 0.8 × a TTL is not exact.
    review_at_seconds: Math.round(age.ttl_seconds * policy.review_at * 1000) / 1000,
    max_data_age_seconds: policy.max_data_age_seconds,
    silence_after_seconds: policy.silence_after_seconds,
    performance: policy.performance
      ? {
          state: row.performance_state,
          drop: row.performance_drop,
          metric: policy.performance.metric,
          value: measured?.value ?? null,
          target: policy.performance.target,
          baseline: measured?.baseline ?? null,
          at: measured?.at === undefined ? null : iso(measured.at),
        }
      : null,
    drift: row.drift_state === null ? null : { state: row.drift_state, share: driftShareOf(row, alerts) },
    last_heartbeat_at: row.last_heartbeat_at === null ? null : iso(row.last_heartbeat_at),
    last_traffic_at: row.last_traffic_at === null ? null : iso(row.last_traffic_at),
    open_alerts: alerts.length,
    open_alert_kinds: [...new Set(alerts.map((a) => a.kind))].sort(),
  };
}

/**
 * The share of monitored features that drifted, where the store knows it: none of a stable
 * deployment's (every feature was stable), the share a drifted deployment's open `drifted` alert
 * measured when it opened; unknown (null) otherwise: the sweep keeps only the verdict.
 */
function driftShareOf(row: DeploymentRow, alerts: LiveAlertKey[]): number | null {
  if (row.drift_state === "stable") return 0;
  if (row.drift_state !== "drifted") return null;
  return alerts.find((a) => a.kind === "drifted")?.drifted_share ?? null;
}

interface Measured {
  value: number | null;
  /** The end of the window the value is the mean of. */
  at?: number;
  baseline: number | null;
}

/**
 * The latest judged value and the registration baseline of the metric each deployment's policy
 * targets: per metric and window length, for each 1,000 deployments, a query of their recent
 * windows, another of the last VALUE_LOOKBACK_WINDOWS for those quiet lately, and their baselines.
 */
async function performanceOf(
  metrics: Stores["metrics"],
  rows: DeploymentRow[],
  policies: Policy[],
  now: number,
): Promise<Map<number, Measured>> {
  const groups = new Map<string, { performance: PerformancePolicy; ids: number[] }>();
  rows.forEach((row, i) => {
    const performance = policies[i]?.performance;
    if (!performance) return;
    const key = `${performance.metric}\u0000${performance.window_seconds}\u0000${performance.label_delay_seconds}\u0000${performance.min_samples}`;
    let group = groups.get(key);
    if (!group) {
      group = { performance, ids: [] };
      groups.set(key, group);
    }
    group.ids.push(row.id);
  });
  const measured = new Map<number, Measured>();
  for (const { performance, ids } of groups.values()) {
    for (let i = 0; i < ids.length; i += IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + IDS_PER_QUERY);
      const baselines = await metrics.baselines(chunk, performance.metric);
      const latest = await latestJudged(metrics, chunk, performance, now, RECENT_WINDOWS);
      // A metric that went quiet: looked for further back, for these deployments only.
      const quiet = chunk.filter((id) => !latest.has(id));
      const older = await latestJudged(metrics, quiet, performance, now, VALUE_LOOKBACK_WINDOWS);
      for (const id of chunk) {
        const window = latest.get(id) ?? older.get(id);
        measured.set(id, {
          value: window?.mean ?? null,
          at: window?.end,
          baseline: baselines.get(id) ?? null,
        });
      }
    }
  }
  return measured;
}

/** Each deployment's latest judged window of the metric among the last `windows` before the label delay. */
async function latestJudged(
  metrics: Stores["metrics"],
  ids: number[],
  performance: PerformancePolicy,
  now: number,
  windows: number,
): Promise<Map<number, JudgedWindow>> {
  const latest = new Map<number, JudgedWindow>();
  if (ids.length === 0) return latest;
  const windowMs = performance.window_seconds * 1000;
  const judgedBefore = now - performance.label_delay_seconds * 1000;
  const since = (Math.floor(judgedBefore / windowMs) - windows) * windowMs;
  const aggregates = await metrics.windowAggregates(ids, performance.metric, windowMs, now, since);
  for (const [id, list] of aggregates) {
    const window = latestJudgedWindow(list, performance, now);
    if (window) latest.set(id, window);
  }
  return latest;
}

function groupBy<T, K>(items: T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const list = groups.get(key(item));
    if (list) list.push(item);
    else groups.set(key(item), [item]);
  }
  return groups;
}
