import { DRIFT_ERROR_STATE } from "../core/drift-finding.js";
import { lifecycleDates } from "../core/findings.js";
import { isoTime as iso } from "../core/iso-time.js";
import { evaluatePerformance, type PerformancePolicy } from "../core/performance.js";
import type { Registry } from "../registry/registry.js";
import type { DeploymentRow, EventRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";

export interface TimelineView {
  deployment_id: number;
  from: string;
  to: string;
  policy: string;
  clocks: {
    deployment_date: string;
    training_data_cutoff: string;
    due_at: string;
    expires_at: string;
    ttl_seconds: number;
    deployment_age_seconds: number;
    data_age_seconds: number;
    performance_age_seconds: number | null;
  };
  stages: { stage: string; from: string; to: string }[];
  metrics: {
    name: string;
    direction: "higher" | "lower";
    target: number | null;
    threshold: number | null;
    baseline: number | null;
    state: string | null;
    windows: { start: string; end: string; samples: number; mean: number; state: string }[];
  }[];
  /** The last drift verdict; `error` with why when the last sweep could not compare the inputs. */
  drift: { state: string | null; error: string | null };
  health: { score: number | null; verdict: string | null };
  events: { at: string; type: string; actor: string }[];
}

/** Why the last sweep could not judge the drift of a deployment in the `error` state: its latest `drift_error` event. */
function driftError(row: DeploymentRow, events: EventRow[]): string | null {
  if (row.drift_state !== DRIFT_ERROR_STATE) return null;
  const event = events.findLast((e) => e.type === "drift_error");
  const data = event ? (JSON.parse(event.data) as { message?: unknown }) : {};
  return typeof data.message === "string" ? data.message : "the inputs could not be compared";
}

/** How a metric no policy targets is windowed for the timeline: daily, judged against nothing. */
export function defaultPerformance(name: string): PerformancePolicy {
  return {
    metric: name,
    target: null,
    direction: "higher",
    window_seconds: 86_400,
    min_samples: 1,
    label_delay_seconds: 0,
    clear_after: 3,
    reference_windows: 5,
  };
}

/**
 * Everything the Age vs Performance chart draws, on one time axis: the stage periods the
 * policy gives (with review extensions), the clocks at both ends, each metric's windows with
 * its target and baseline, the drift verdict, and the events.
 */
export async function buildTimeline(
  stores: Pick<Stores, "metrics" | "deployments">,
  registry: Registry,
  row: DeploymentRow,
  now: number,
): Promise<TimelineView> {
  const id = row.id;
  const policy = registry.policyOf(row);
  const end = row.ended_at ?? now;
  const { due_at, expires_at } = lifecycleDates(row, policy);
  const stages = [
    { stage: "fresh", from: row.deployment_date, to: Math.min(due_at, end) },
    { stage: "due", from: due_at, to: Math.min(expires_at, end) },
    { stage: "expired", from: expires_at, to: end },
  ].filter((s) => s.from < s.to);
  const metrics = stores.metrics;
  const series = [];
  for (const name of await metrics.metricNames(id)) {
    const performance =
      policy.performance?.metric === name
        ? policy.performance
        : { ...defaultPerformance(name), target: null };
    const windowMs = performance.window_seconds * 1000;
    const [aggregates, baselines] = await Promise.all([
      metrics.windowAggregates([id], name, windowMs, end + 1),
      metrics.baselines([id], name),
    ]);
    const evaluation = evaluatePerformance(
      aggregates.get(id) ?? [],
      performance,
      baselines.get(id) ?? null,
      now,
    );
    series.push({
      name,
      direction: performance.direction,
      target: policy.performance?.metric === name ? performance.target : null,
      threshold: evaluation.threshold,
      baseline: evaluation.baseline,
      state: policy.performance?.metric === name ? evaluation.state : null,
      windows: evaluation.windows.map((w) => ({ ...w, start: iso(w.start), end: iso(w.end) })),
    });
  }
  const events = await stores.deployments.listEvents(id);
  const age = registry.view(row, now).age;
  return {
    deployment_id: id,
    from: iso(row.deployment_date),
    to: iso(end),
    policy: policy.name,
    clocks: {
      deployment_date: iso(row.deployment_date),
      training_data_cutoff: iso(row.training_data_cutoff),
      due_at: iso(due_at),
      expires_at: iso(expires_at),
      ttl_seconds: age.ttl_seconds,
      deployment_age_seconds: age.deployment_age_seconds,
      data_age_seconds: age.data_age_seconds,
      performance_age_seconds: age.performance_age_seconds,
    },
    stages: stages.map((s) => ({ stage: s.stage, from: iso(s.from), to: iso(s.to) })),
    metrics: series,
    drift: { state: row.drift_state, error: driftError(row, events) },
    health: { score: age.health_score, verdict: age.verdict },
    events: events.map((e) => ({ at: iso(e.at), type: e.type, actor: e.actor })),
  };
}
