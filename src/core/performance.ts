import { formatDuration } from "./duration.js";
import type { Finding } from "./finding.js";

/** A policy's performance target for one metric. */
export interface PerformancePolicy {
  metric: string;
  /** The target; null learns the threshold from the first windows (mean ∓ 3σ). */
  target: number | null;
  direction: "higher" | "lower";
  window_seconds: number;
  /** A window with fewer samples is `insufficient_data`: never judged, never an alarm. */
  min_samples: number;
  /** Windows younger than this are not judged yet: their labels may still be arriving. */
  label_delay_seconds: number;
  /** Judged windows on target in a row it takes to clear a degradation (hysteresis). */
  clear_after: number;
  /** Windows whose means learn the threshold when no target is set. */
  reference_windows: number;
}

/** One window's sample-weighted aggregate of a metric's points, as the store sums them. */
export interface WindowAggregate {
  /** The window's index: its start is index × window length since the epoch. */
  index: number;
  samples: number;
  /** Σ value × sample_size. */
  weighted_sum: number;
}

export type WindowState = "ok" | "below" | "insufficient_data" | "pending";

export interface JudgedWindow {
  start: number;
  end: number;
  samples: number;
  mean: number;
  state: WindowState;
}

export interface PerformanceEvaluation {
  state: "ok" | "degraded" | "insufficient_data";
  metric: string;
  threshold: number | null;
  threshold_source: "target" | "learned" | null;
  baseline: number | null;
  /**
   * Since when the deployment has held its target (epoch ms): the end of its last window below,
   * or the start of its first judged window. Null while its latest judged window is below (its
   * performance age is 0, however long that lasts) and when it cannot be judged yet.
   */
  ok_since: number | null;
  /** How far the latest judged window is worse than the baseline, relative (0 when not worse). */
  drop: number;
  windows: JudgedWindow[];
}

/**
 * Judges a metric's windows against the policy at `at`. Windows are fixed, aligned to the epoch
 * (a 1d window is a UTC day), each one's value the sample-weighted mean of its points. A window
 * ends `pending` while younger than the label delay (late labels still arrive: the store sums
 * the window again at every sweep), `insufficient_data` below `min_samples`, else `below` or
 * `ok` against the threshold: the target, or where none is set the mean ∓ 3σ of the first
 * `reference_windows` judged windows, as NannyML derives thresholds from reference chunks.
 * The deployment is `degraded` while any of its last `clear_after` judged windows is below, so
 * a flapping metric stays one degradation rather than opening and closing all day.
 */
export function evaluatePerformance(
  aggregates: readonly WindowAggregate[],
  policy: PerformancePolicy,
  baseline: number | null,
  at: number,
): PerformanceEvaluation {
  const windowMs = policy.window_seconds * 1000;
  const judgeBefore = at - policy.label_delay_seconds * 1000;
  const windows: JudgedWindow[] = [...aggregates]
    .sort((a, b) => a.index - b.index)
    .filter((a) => a.index * windowMs < at)
    .map((a) => {
      const start = a.index * windowMs;
      const end = start + windowMs;
      const mean = a.samples > 0 ? a.weighted_sum / a.samples : Number.NaN;
      const state: WindowState =
        end > judgeBefore ? "pending" : a.samples < policy.min_samples ? "insufficient_data" : "ok";
      return { start, end, samples: a.samples, mean, state };
    });
  const sufficient = windows.filter((w) => w.state === "ok");
  const { threshold, source } = thresholdOf(sufficient, policy);
  const firstMean = sufficient[0]?.mean ?? null;
  const result = {
    metric: policy.metric,
    threshold,
    threshold_source: source,
    baseline: baseline ?? firstMean,
    windows,
  };
  const latestSufficient = sufficient.at(-1);
  const drop =
    result.baseline === null || result.baseline === 0 || !latestSufficient
      ? 0
      : Math.max(
          0,
          ((policy.direction === "higher" ? 1 : -1) * (result.baseline - latestSufficient.mean)) /
            Math.abs(result.baseline),
        );
  if (threshold === null || sufficient.length === 0) {
    return { ...result, drop, state: "insufficient_data", ok_since: null };
  }
  for (const w of sufficient) if (isBelow(w.mean, threshold, policy.direction)) w.state = "below";
  const judged = windows.filter((w) => w.state === "ok" || w.state === "below");
  const recent = judged.slice(-policy.clear_after);
  const lastBelow = judged.findLast((w) => w.state === "below");
  const latest = judged.at(-1);
  return {
    ...result,
    drop,
    state: recent.some((w) => w.state === "below") ? "degraded" : "ok",
    ok_since: latest?.state === "below" ? null : (lastBelow?.end ?? judged[0]?.start ?? null),
  };
}

function thresholdOf(
  sufficient: readonly JudgedWindow[],
  policy: PerformancePolicy,
): { threshold: number | null; source: "target" | "learned" | null } {
  if (policy.target !== null) return { threshold: policy.target, source: "target" };
  const reference = sufficient.slice(0, policy.reference_windows);
  if (reference.length < policy.reference_windows) return { threshold: null, source: null };
  const mean = reference.reduce((sum, w) => sum + w.mean, 0) / reference.length;
  const variance = reference.reduce((sum, w) => sum + (w.mean - mean) ** 2, 0) / (reference.length - 1);
  const spread = 3 * Math.sqrt(variance);
  return { threshold: policy.direction === "higher" ? mean - spread : mean + spread, source: "learned" };
}

function isBelow(value: number, threshold: number, direction: "higher" | "lower"): boolean {
  return direction === "higher" ? value < threshold : value > threshold;
}

/** The `degraded` finding of a degraded evaluation, naming the worst recent window. */
export function degradedFinding(
  evaluation: PerformanceEvaluation,
  name: string,
  policy: { name: string; performance: PerformancePolicy },
): Finding | undefined {
  if (evaluation.state !== "degraded" || evaluation.threshold === null) return undefined;
  const below = evaluation.windows.filter((w) => w.state === "below");
  const last = below.at(-1);
  if (!last) return undefined;
  const p = policy.performance;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  const comparison = p.direction === "higher" ? "<" : ">";
  return {
    kind: "degraded",
    severity: "error",
    summary: `${name} is below its ${p.metric} ${evaluation.threshold_source === "target" ? "target" : "learned threshold"}: ${round(last.mean)} ${comparison} ${round(evaluation.threshold)}`,
    detail: {
      metric: p.metric,
      value: round(last.mean),
      threshold: round(evaluation.threshold),
      threshold_source: evaluation.threshold_source,
      baseline: evaluation.baseline === null ? null : round(evaluation.baseline),
      direction: p.direction,
      window_start: new Date(last.start).toISOString(),
      window_seconds: p.window_seconds,
      samples: last.samples,
      windows_below: below.length,
      policy: policy.name,
      reason: `its ${p.metric} over the ${formatDuration(p.window_seconds)} from ${new Date(last.start).toISOString()} was ${round(last.mean)} on ${last.samples} samples, ${comparison} ${round(evaluation.threshold)}`,
    },
  };
}

/**
 * The latest window a sweep judges at `at` (past the label delay, with at least `min_samples`),
 * whatever it found of it; undefined when no window of `aggregates` is judged yet.
 */
export function latestJudgedWindow(
  aggregates: readonly WindowAggregate[],
  policy: PerformancePolicy,
  at: number,
): JudgedWindow | undefined {
  return evaluatePerformance(aggregates, policy, null, at).windows.findLast(
    (w) => w.state === "ok" || w.state === "below",
  );
}
