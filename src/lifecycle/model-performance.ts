import { lifecycleDates } from "../core/findings.js";
import { isoTime as iso } from "../core/iso-time.js";
import { evaluatePerformance, type PerformancePolicy } from "../core/performance.js";
import type { Policy } from "../core/policy.js";
import type { DeploymentRole, DeploymentStatus } from "../core/words.js";
import type { Registry } from "../registry/registry.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { buildModelDecay, type ModelDecayView } from "./model-decay-view.js";
import { sharedMetricReads } from "./shared-metric-reads.js";
import { startedDeployments } from "./started-deployments.js";
import { defaultPerformance } from "./timeline.js";

export interface ModelPerformanceView {
  model: string;
  environment: string;
  /** The metric drawn: the one asked for, else the one the current primary's policy judges, else the first with points. */
  metric: { name: string; direction: "higher" | "lower"; target: number | null } | null;
  /** Every metric any of these deployments has points of. */
  metrics: string[];
  deployments: {
    deployment_id: number;
    model_version: string;
    role: DeploymentRole;
    status: DeploymentStatus;
    deployment_date: string;
    ended_at: string | null;
    policy: string;
    ttl_seconds: number;
    due_at: string;
    expires_at: string;
    target: number | null;
    baseline: number | null;
    threshold: number | null;
    state: string | null;
    windows: { start: string; end: string; samples: number; mean: number; state: string }[];
  }[];
  /** The model's decay in this environment, for the leading policy's metric (see buildModelDecay). */
  decay: ModelDecayView;
}

/** The deployment whose policy chooses the metric: the live primary, else the newest. */
function leading(rows: DeploymentRow[]): DeploymentRow | undefined {
  return rows.findLast((r) => r.status === "active" && r.role === "primary") ?? rows.at(-1);
}

/**
 * One metric of every deployment of a model in an environment, window by window, each judged
 * by its own policy, with the policy dates (review point, expiry) that the Age vs Performance
 * chart marks: one query per window length for all of them, not one per deployment. The decay
 * block's reads are the same queries when the leading policy judges them all alike: made once.
 */
export async function buildModelPerformance(
  stores: Pick<Stores, "pages" | "metrics">,
  registry: Registry,
  input: { model: string; environment: string; metric?: string },
  now: number,
): Promise<ModelPerformanceView> {
  const rows = await startedDeployments(stores, input.model, input.environment, now);
  const ids = rows.map((r) => r.id);
  const names = await stores.metrics.metricNamesOf(ids);
  const reads = sharedMetricReads(stores.metrics);
  const policies = new Map(rows.map((r) => [r.id, registry.policyOf(r)]));
  const lead = leading(rows);
  const leadPolicy = lead ? policies.get(lead.id) : undefined;
  const name =
    input.metric ??
    (leadPolicy?.performance && names.includes(leadPolicy.performance.metric)
      ? leadPolicy.performance.metric
      : names[0]);
  const judging = (policy: Policy): PerformancePolicy | null =>
    policy.performance?.metric === name ? policy.performance : null;
  const performanceOf = (row: DeploymentRow): PerformancePolicy =>
    judging(policies.get(row.id) as Policy) ?? defaultPerformance(name ?? "");
  const aggregates = new Map<number, Awaited<ReturnType<typeof reads.windowAggregates>>>();
  const baselines = name ? await reads.baselines(ids, name) : new Map<number, number>();
  if (name) {
    const byWindow = new Map<number, number[]>();
    for (const row of rows) {
      const seconds = performanceOf(row).window_seconds;
      byWindow.set(seconds, [...(byWindow.get(seconds) ?? []), row.id]);
    }
    for (const [seconds, group] of byWindow)
      aggregates.set(seconds, await reads.windowAggregates(group, name, seconds * 1000, now + 1));
  }
  const leadPerformance = leadPolicy ? judging(leadPolicy) : null;
  const decay = await buildModelDecay(
    reads,
    (row) => policies.get(row.id) ?? registry.policyOf(row),
    { model: input.model, environment: input.environment },
    rows,
    now,
  );
  return {
    model: input.model,
    environment: input.environment,
    metric: name
      ? {
          name,
          direction: leadPerformance?.direction ?? "higher",
          target: leadPerformance?.target ?? null,
        }
      : null,
    metrics: names,
    deployments: rows.map((row) => {
      const policy = policies.get(row.id) as Policy;
      const performance = performanceOf(row);
      const judged = judging(policy) !== null;
      const windows = aggregates.get(performance.window_seconds)?.get(row.id) ?? [];
      const evaluation = evaluatePerformance(windows, performance, baselines.get(row.id) ?? null, now);
      const { due_at, expires_at } = lifecycleDates(row, policy);
      return {
        deployment_id: row.id,
        model_version: row.model_version,
        role: row.role,
        status: row.status,
        deployment_date: iso(row.deployment_date),
        ended_at: row.ended_at === null ? null : iso(row.ended_at),
        policy: policy.name,
        ttl_seconds: policy.max_age_seconds + row.ttl_extension_seconds,
        due_at: iso(due_at),
        expires_at: iso(expires_at),
        target: judged ? performance.target : null,
        baseline: evaluation.baseline,
        threshold: judged ? evaluation.threshold : null,
        state: judged && row.status === "active" ? evaluation.state : null,
        windows: evaluation.windows.map((w) => ({ ...w, start: iso(w.start), end: iso(w.end) })),
      };
    }),
    decay,
  };
}
