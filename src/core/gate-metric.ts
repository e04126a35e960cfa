import { fisherExact } from "./compare/fisher-exact.js";
import { welchTTest, welchTTestFromStats } from "./compare/welch-t.js";
import {
  evaluatePerformance,
  type JudgedWindow,
  type PerformancePolicy,
  type WindowAggregate,
} from "./performance.js";

/** Which way a metric improves. */
export type Direction = "higher" | "lower";

export type CheckStatus = "pass" | "fail" | "skip";

/**
 * How a metric's figures are compared for significance: a `rate` is a share of observations
 * (accuracy, precision, an error rate), a `score` anything else (AUC, log loss, mean absolute
 * error). Null lets the figures decide: a metric whose figures all lie in [0, 1] is a rate.
 */
export type MetricKind = "rate" | "score";

/** One metric of the candidate, its direction settled (by the policy, or by the candidate's figures). */
export interface CandidateMetric {
  name: string;
  value: number;
  direction: Direction;
  /** The observations `value` was measured on, when known. */
  sample_size: number | null;
  kind: MetricKind | null;
  /** The metric on each day of a backtest, or each fold: Welch's t-test needs two or more. */
  values: readonly number[] | null;
  /** The metric the policy judges: a primary with no judged window of it cannot be beaten. */
  judged_by_policy: boolean;
}

export type SignificanceTest = "fisher_exact" | "welch_t_rates" | "welch_t_windows";

/** One metric of the candidate against the live primary's recent windows, with every figure. */
export interface MetricCheck {
  kind: "metric";
  name: string;
  status: CheckStatus;
  summary: string;
  direction: Direction;
  candidate_value: number;
  candidate_sample_size: number | null;
  /** The primary's recent judged windows, sample-weighted; null when it has none. */
  primary_value: number | null;
  primary_sample_size: number | null;
  primary_windows: { start: number; end: number; samples: number; mean: number }[];
  /** How much better the candidate is (negative when worse), in the metric's own units. */
  improvement: number | null;
  min_improvement: number;
  test: SignificanceTest | null;
  p_value: number | null;
  alpha: number;
}

/**
 * Fisher's exact test sums one hypergeometric term per table with the observed margins, so its
 * cost grows with the counts. Past this many tables, where every cell is necessarily large and
 * the normal approximation behind Welch's t is excellent, two rates are compared by Welch's
 * t-test on their 0/1 outcomes instead, an answer in constant time.
 */
export const FISHER_MAX_TABLES = 100_000;

/** Float noise in a difference of two decimals (0.91 − 0.905) must not fail a margin of 0.005. */
const MARGIN_TOLERANCE = 1e-12;

/**
 * The primary's recent windows of a metric as the sweep judges them at `at`: past the label
 * delay and with `min_samples` or more, the newest `clear_after` of them (the windows whose
 * state decides whether the primary is degraded now). Oldest first; empty when none is judged.
 */
export function recentJudgedWindows(
  aggregates: readonly WindowAggregate[],
  performance: PerformancePolicy,
  at: number,
): JudgedWindow[] {
  const judged = evaluatePerformance(aggregates, performance, null, at).windows.filter(
    (w) => (w.state === "ok" || w.state === "below") && w.samples > 0,
  );
  return judged.slice(-performance.clear_after);
}

/**
 * The candidate's figure of one metric against the primary's recent windows. It passes when it
 * is better by `min_improvement` or more (absolute, in the metric's units, in its direction)
 * and, when a significance test applies, the difference is significant: two-sided p < alpha.
 *
 * The test (see `significance`): a rate with sample sizes on both sides is a two-proportion
 * test, on the candidate's successes (value × sample_size) against the primary's (Σ value ×
 * sample_size of its points) — Fisher's exact test, as the canary compares error rates, or
 * Welch's t on the 0/1 outcomes when the counts are large. A score has no variance in its
 * figures: with the candidate's per-day or per-fold `values` it is Welch's t-test on those
 * against the primary's window means; without, the margin alone decides, and the summary says so.
 */
export function compareMetric(
  metric: CandidateMetric,
  windows: readonly JudgedWindow[],
  options: { min_improvement: number; alpha: number; others_compared: boolean },
): MetricCheck {
  const base = {
    kind: "metric" as const,
    name: metric.name,
    direction: metric.direction,
    candidate_value: metric.value,
    candidate_sample_size: metric.sample_size,
    primary_windows: windows.map((w) => ({ start: w.start, end: w.end, samples: w.samples, mean: w.mean })),
    min_improvement: options.min_improvement,
    alpha: options.alpha,
    test: null,
    p_value: null,
  };
  if (windows.length === 0) {
    // Another metric may carry the comparison; the policy's own metric, or the only ones, cannot.
    const blocks = metric.judged_by_policy || !options.others_compared;
    return {
      ...base,
      status: blocks ? "fail" : "skip",
      summary:
        `${metric.name} ${figure(metric.value)}: the primary has no judged window of ${metric.name}` +
        (blocks ? ", so nothing shows the candidate is better" : "; not compared"),
      primary_value: null,
      primary_sample_size: null,
      improvement: null,
    };
  }
  const samples = windows.reduce((sum, w) => sum + w.samples, 0);
  const primaryValue = windows.reduce((sum, w) => sum + w.mean * w.samples, 0) / samples;
  const improvement =
    metric.direction === "higher" ? metric.value - primaryValue : primaryValue - metric.value;
  const marginMet = improvement >= options.min_improvement - MARGIN_TOLERANCE;
  const test = significance(metric, windows, samples, primaryValue, options.alpha);
  const significant = test.p_value === null || (test.p_value < options.alpha && improvement > 0);
  const head =
    `${metric.name} ${figure(metric.value)} against the primary's ${figure(primaryValue)} ` +
    `(${windows.length} window${windows.length === 1 ? "" : "s"}, ${samples} samples` +
    `${metric.direction === "lower" ? ", lower is better" : ""})`;
  const margin = `${improvement >= 0 ? "better" : "worse"} by ${figure(Math.abs(improvement))}, ${marginMet ? "at least" : "less than"} the ${figure(options.min_improvement)} required`;
  return {
    ...base,
    status: marginMet && significant ? "pass" : "fail",
    summary: `${head}: ${margin}; ${test.text}`,
    primary_value: primaryValue,
    primary_sample_size: samples,
    improvement,
    test: test.test,
    p_value: test.p_value,
  };
}

interface Significance {
  test: SignificanceTest | null;
  p_value: number | null;
  /** The test and its outcome, or why none applies. */
  text: string;
}

function significance(
  metric: CandidateMetric,
  windows: readonly JudgedWindow[],
  samples: number,
  primaryValue: number,
  alpha: number,
): Significance {
  const inUnit = (x: number) => x >= 0 && x <= 1;
  const kind =
    metric.kind ?? (inUnit(metric.value) && windows.every((w) => inUnit(w.mean)) ? "rate" : "score");
  if (kind === "rate" && metric.sample_size !== null && inUnit(metric.value) && inUnit(primaryValue)) {
    return rateTest(metric.value, metric.sample_size, primaryValue, samples, alpha);
  }
  if (metric.values !== null && metric.values.length >= 2 && windows.length >= 2) {
    const result = welchTTest(
      metric.values,
      windows.map((w) => w.mean),
    );
    return {
      test: "welch_t_windows",
      p_value: result.p_value,
      text: `Welch's t-test of its ${metric.values.length} values against the primary's window means ${outcome(result.p_value, alpha)}`,
    };
  }
  const why =
    kind === "rate"
      ? "no significance test: the candidate's figures give no sample_size"
      : metric.values === null || metric.values.length < 2
        ? "no significance test: a score's variance needs its values per day or fold (values)"
        : "no significance test: the primary has one judged window, Welch's t-test needs two";
  return { test: null, p_value: null, text: why };
}

/**
 * Two rates compared as proportions of their observations: successes are rate × observations,
 * rounded, on each side. Fisher's exact test up to FISHER_MAX_TABLES tables, Welch's t-test on
 * the 0/1 outcomes beyond (their mean is the rate, their variance k(n − k) / (n(n − 1))).
 */
function rateTest(
  candidate: number,
  candidateN: number,
  primary: number,
  primaryN: number,
  alpha: number,
): Significance {
  const n1 = Math.round(candidateN);
  const n2 = Math.round(primaryN);
  const k1 = Math.round(candidate * n1);
  const k2 = Math.round(primary * n2);
  // The tables with the observed margins: the successes of the first row run over this range.
  const tables = Math.min(n1, k1 + k2) - Math.max(0, k1 + k2 - n2) + 1;
  if (tables <= FISHER_MAX_TABLES) {
    const p = fisherExact(k1, n1 - k1, k2, n2 - k2);
    return {
      test: "fisher_exact",
      p_value: p,
      text: `Fisher's exact test on ${k1} of ${n1} against ${k2} of ${n2} ${outcome(p, alpha)}`,
    };
  }
  const moments = (k: number, n: number) => ({ mean: k / n, variance: (k * (n - k)) / (n * (n - 1)), n });
  const p = welchTTestFromStats(moments(k1, n1), moments(k2, n2)).p_value;
  return {
    test: "welch_t_rates",
    p_value: p,
    text: `Welch's t-test on the outcomes, ${k1} of ${n1} against ${k2} of ${n2}, ${outcome(p, alpha)}`,
  };
}

function outcome(p: number, alpha: number): string {
  return `gives p = ${formatP(p)} ${p < alpha ? "<" : "≥"} ${alpha}`;
}

/** A p-value as the shadow and canary verdicts print one. */
export function formatP(p: number): string {
  return p < 0.001 ? p.toExponential(2) : p.toPrecision(3);
}

/** A metric's figure to four significant digits, without float noise (0.016, not 0.016000000000000014). */
export function figure(x: number): string {
  return String(Number(x.toPrecision(4)));
}
