import {
  compareUnpaired,
  DEFAULT_MIN_LABELS,
  type LabelledPrediction,
  type UnpairedComparison,
} from "./compare/unpaired-comparison.js";
import { histogramQuantile } from "./histogram-quantile.js";
import type { CanaryVerdict } from "./words.js";

/**
 * A canary's analysis: the candidate's figures against the primary's over the same window, and
 * what the canary does next. Missing data is never a success (the complaint users of Flagger and
 * Argo Rollouts file most: an empty query aborting a rollout, NaN at low traffic, a run counted
 * a success when every measurement errored): too few requests, or a rate or quantile that is not
 * defined, make an analysis inconclusive, and an inconclusive analysis never promotes.
 */

/** One side's traffic over the window, as the gateways counted it. */
export interface WindowTraffic {
  requests: number;
  /** 5xx answers and failed connections, timeouts included. */
  errors: number;
  /** Requests per latency bucket (not cumulative); one more entry than the bounds (overflow). */
  latency_buckets: readonly number[];
}

/** Each side's labelled requests, where ground truth exists: each request went to one side only. */
export interface CanaryLabels {
  primary: readonly LabelledPrediction[];
  canary: readonly LabelledPrediction[];
}

export interface CanaryCriteria {
  /** Fewer requests than this on either side make the analysis inconclusive. */
  min_requests: number;
  /** The least increase of the error rate (absolute: 0.01 is one point) that fails a canary. */
  max_error_rate_increase: number;
  /** The canary's p99 fails above the primary's × this + `p99_slack_ms`. */
  max_p99_ratio: number;
  p99_slack_ms: number;
  /** The latency histogram's bucket upper bounds, ms. */
  latency_bounds_ms: readonly number[];
  /** Usable labelled requests each side needs before the label comparison counts. */
  min_labels: number;
}

/** Standard errors a difference of rates must exceed before it counts (one-sided, about 97.7%). */
export const RATE_Z = 2;

export const DEFAULT_CANARY_CRITERIA: Omit<CanaryCriteria, "latency_bounds_ms"> = {
  min_requests: 100,
  max_error_rate_increase: 0.01,
  max_p99_ratio: 1.2,
  p99_slack_ms: 5,
  min_labels: DEFAULT_MIN_LABELS,
};

export interface SideFigures {
  requests: number;
  errors: number;
  /** errors ÷ requests; null when there were no requests (0 ÷ 0 is not a rate). */
  error_rate: number | null;
  /** The 99th percentile latency, ms, as Prometheus's histogram_quantile; null without latencies. */
  p99_ms: number | null;
}

export interface CanaryFigures {
  primary: SideFigures;
  canary: SideFigures;
  min_requests: number;
  /** How far the canary's error rate may exceed the primary's; null when not compared. */
  error_rate_margin: number | null;
  /** The canary's p99 fails above this; null when not compared. */
  p99_limit_ms: number | null;
  /**
   * The comparison on labelled requests: whether it counted, the test, each side's counts and
   * error rates (or mean absolute errors), the p-value and why; null when no labels were read.
   */
  labels: UnpairedComparison | null;
}

export type { CanaryVerdict } from "./words.js";

export interface CanaryAnalysis {
  verdict: CanaryVerdict;
  /** Sentences a person reads: why it failed, why it could not be judged, or why it passed. */
  reasons: string[];
  figures: CanaryFigures;
}

type Check = { outcome: "pass" | "fail" | "unknown"; reason: string };

/**
 * Judges a canary against the primary over one window. Each criterion passes, fails, or cannot
 * be judged: the error rate (fails when the canary's exceeds the primary's by more than
 * max(max_error_rate_increase, 2 pooled standard errors): a two-proportion test at about 97.7%
 * one-sided, with a floor so that a tiny real difference at huge traffic does not fail it); the
 * p99 latency (fails above the primary's × max_p99_ratio + p99_slack_ms); and, where at least
 * `min_labels` labelled requests exist on both sides, their errors (compareUnpaired: Fisher's
 * exact test for classes, Welch's t-test for numbers; fails when the canary is significantly
 * worse). Any failure fails the analysis; otherwise anything not judged makes it inconclusive;
 * otherwise it passes. Too few labels do not count at all: they never fail an analysis, never
 * make it inconclusive and never make it pass; `figures.labels` says so.
 */
export function analyzeCanary(
  primary: WindowTraffic | undefined,
  canary: WindowTraffic | undefined,
  criteria: CanaryCriteria,
  labels?: CanaryLabels,
): CanaryAnalysis {
  const p = sideFigures(primary, criteria.latency_bounds_ms);
  const c = sideFigures(canary, criteria.latency_bounds_ms);
  const enough = p.requests >= criteria.min_requests && c.requests >= criteria.min_requests;
  const checks: Check[] = [];
  for (const [side, figures] of [
    ["primary", p],
    ["canary", c],
  ] as const) {
    if (figures.requests < criteria.min_requests) {
      checks.push({
        outcome: "unknown",
        reason: `the ${side} answered ${figures.requests} requests in the window, fewer than min_requests (${criteria.min_requests})`,
      });
    }
  }
  const errorCheck = enough ? compareErrorRates(p, c, criteria) : undefined;
  if (errorCheck) checks.push(errorCheck.check);
  const latencyCheck = enough ? compareLatency(p, c, criteria) : undefined;
  if (latencyCheck) checks.push(latencyCheck.check);
  const labelFigures = labels
    ? compareUnpaired(labels.primary, labels.canary, { min_labels: criteria.min_labels })
    : null;
  if (labelFigures?.counted)
    checks.push({ outcome: labelFigures.worse ? "fail" : "pass", reason: labelFigures.reason });

  const failed = checks.filter((k) => k.outcome === "fail");
  const unknown = checks.filter((k) => k.outcome === "unknown");
  const verdict: CanaryVerdict = failed.length > 0 ? "fail" : unknown.length > 0 ? "inconclusive" : "pass";
  const reasons = (verdict === "fail" ? failed : verdict === "inconclusive" ? unknown : checks).map(
    (k) => k.reason,
  );
  return {
    verdict,
    reasons,
    figures: {
      primary: p,
      canary: c,
      min_requests: criteria.min_requests,
      error_rate_margin: errorCheck?.margin ?? null,
      p99_limit_ms: latencyCheck?.limit ?? null,
      labels: labelFigures,
    },
  };
}

function sideFigures(traffic: WindowTraffic | undefined, bounds: readonly number[]): SideFigures {
  const requests = traffic?.requests ?? 0;
  const errors = traffic?.errors ?? 0;
  const rate = requests > 0 ? errors / requests : Number.NaN;
  const buckets = traffic?.latency_buckets;
  const p99 =
    buckets && buckets.length === bounds.length + 1 ? histogramQuantile(0.99, bounds, buckets) : null;
  return {
    requests,
    errors,
    error_rate: Number.isFinite(rate) ? rate : null,
    p99_ms: p99 !== null && Number.isFinite(p99) ? p99 : null,
  };
}

/** The margin a rate difference must pass: max(floor, z × the pooled standard error). */
export function rateMargin(
  a: { successes: number; trials: number },
  b: { successes: number; trials: number },
  floor: number,
): number {
  const pooled = (a.successes + b.successes) / (a.trials + b.trials);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / a.trials + 1 / b.trials));
  return Math.max(floor, RATE_Z * se);
}

function compareErrorRates(
  p: SideFigures,
  c: SideFigures,
  criteria: CanaryCriteria,
): { check: Check; margin: number | null } {
  if (p.error_rate === null || c.error_rate === null) {
    return {
      check: { outcome: "unknown", reason: "an error rate is not defined (no requests)" },
      margin: null,
    };
  }
  const margin = rateMargin(
    { successes: p.errors, trials: p.requests },
    { successes: c.errors, trials: c.requests },
    criteria.max_error_rate_increase,
  );
  const increase = c.error_rate - p.error_rate;
  const words = `the canary's error rate ${pct(c.error_rate)} against the primary's ${pct(p.error_rate)} (allowed increase ${pct(margin)})`;
  return { check: { outcome: increase > margin ? "fail" : "pass", reason: words }, margin };
}

function compareLatency(
  p: SideFigures,
  c: SideFigures,
  criteria: CanaryCriteria,
): { check: Check; limit: number | null } {
  if (p.p99_ms === null || c.p99_ms === null) {
    return {
      check: { outcome: "unknown", reason: "a p99 latency is not defined (no latencies recorded)" },
      limit: null,
    };
  }
  const limit = p.p99_ms * criteria.max_p99_ratio + criteria.p99_slack_ms;
  const words = `the canary's p99 latency ${ms(c.p99_ms)} against the primary's ${ms(p.p99_ms)} (limit ${ms(limit)})`;
  return { check: { outcome: c.p99_ms > limit ? "fail" : "pass", reason: words }, limit };
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** Where a canary stands between analyses. */
export interface CanaryProgress {
  /** The weights it walks through, ascending; null when it was given none (it never promotes). */
  steps: readonly number[] | null;
  step_index: number;
  /** Its current share of traffic, percent. */
  weight: number;
  /** Failed analyses so far (not reset by a pass: failure_limit counts them all, as Flagger does). */
  failures: number;
  /** Inconclusive analyses in a row. */
  inconclusive_streak: number;
}

export interface CanaryLimits {
  failure_limit: number;
  inconclusive_limit: number;
}

/**
 * What follows an analysis: `hold` (stay at this weight), `advance` (to the next step),
 * `promote` (it passed the last step: it becomes the primary), `rollback` (failure_limit
 * reached: weight 0, it ends) or `pause` (inconclusive_limit in a row: it stays where it is,
 * is no longer analysed, and someone is told).
 */
export type CanaryAction = "hold" | "advance" | "promote" | "rollback" | "pause";

export interface CanaryStep {
  action: CanaryAction;
  progress: CanaryProgress;
}

/** The canary's state machine: pure, one verdict at a time. */
export function nextCanaryStep(
  progress: CanaryProgress,
  limits: CanaryLimits,
  verdict: CanaryVerdict,
): CanaryStep {
  if (verdict === "fail") {
    const failures = progress.failures + 1;
    const next = { ...progress, failures, inconclusive_streak: 0 };
    if (failures >= limits.failure_limit) return { action: "rollback", progress: { ...next, weight: 0 } };
    return { action: "hold", progress: next };
  }
  if (verdict === "inconclusive") {
    const streak = progress.inconclusive_streak + 1;
    const next = { ...progress, inconclusive_streak: streak };
    return { action: streak >= limits.inconclusive_limit ? "pause" : "hold", progress: next };
  }
  const next = { ...progress, inconclusive_streak: 0 };
  const steps = progress.steps;
  if (!steps || steps.length === 0) return { action: "hold", progress: next };
  if (progress.step_index >= steps.length - 1 || progress.weight >= 100) {
    return { action: "promote", progress: { ...next, weight: 100 } };
  }
  const index = progress.step_index + 1;
  return { action: "advance", progress: { ...next, step_index: index, weight: steps[index] ?? 100 } };
}
