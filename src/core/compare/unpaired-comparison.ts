import { fisherExact } from "./fisher-exact.js";
import type { Prediction } from "./shadow-verdict.js";
import { welchTTest } from "./welch-t.js";

/** One request one side answered, with the ground truth that arrived for it. */
export interface LabelledPrediction {
  prediction: Prediction;
  label: string | number | boolean;
}

/** One side's score on its own labelled requests. */
export interface SideScore {
  /** Labelled requests the test used. */
  labelled: number;
  /** Labelled requests it could not use: a regression label whose answer held no number. */
  unusable: number;
  /** Classification: wrong predictions (no prediction is wrong) and their share. */
  errors: number | null;
  error_rate: number | null;
  /** Regression: the mean absolute error. */
  mean_abs_error: number | null;
}

/**
 * The canary against its primary on labelled requests, each answered by one side only. Whether
 * it `counted` (enough labels on both sides) and, when it did, whether the canary is
 * significantly `worse`; with every figure it rests on.
 */
export interface UnpairedComparison {
  counted: boolean;
  worse: boolean;
  /** Why: the test and its outcome, or what was missing. */
  reason: string;
  kind: "classification" | "regression" | null;
  test: "fisher_exact" | "welch_t" | null;
  primary: SideScore;
  canary: SideScore;
  /** Welch's t (primary's errors minus the canary's: below 0 when the canary errs more) and df. */
  t_statistic: number | null;
  df: number | null;
  p_value: number | null;
  alpha: number;
  min_labels: number;
}

export interface UnpairedOptions {
  /** The significance level; 0.05 unless told. */
  alpha?: number;
  /** Usable labelled requests each side needs before the comparison counts; 30 unless told. */
  min_labels?: number;
}

export const DEFAULT_MIN_LABELS = 30;
const DEFAULT_ALPHA = 0.05;

const emptySide = (): SideScore => ({
  labelled: 0,
  unusable: 0,
  errors: null,
  error_rate: null,
  mean_abs_error: null,
});

/**
 * Scores a primary and a candidate (a canary) on labelled requests that each answered alone, and
 * says whether the candidate is significantly worse. Classes (strings, booleans): the two error
 * proportions by Fisher's exact test, two-sided (a prediction equal to its label is right; no
 * prediction is wrong). Numbers: Welch's t-test on the absolute errors, two-sided (a request
 * whose answer held no number is left out and counted). Worse means p < alpha and the
 * candidate's error rate or mean absolute error is the higher. With fewer than `min_labels`
 * usable labels on either side it does not count, whatever the figures say.
 */
export function compareUnpaired(
  primary: readonly LabelledPrediction[],
  canary: readonly LabelledPrediction[],
  options: UnpairedOptions = {},
): UnpairedComparison {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const minLabels = options.min_labels ?? DEFAULT_MIN_LABELS;
  const base: UnpairedComparison = {
    counted: false,
    worse: false,
    reason: "no labelled requests yet",
    kind: null,
    test: null,
    primary: emptySide(),
    canary: emptySide(),
    t_statistic: null,
    df: null,
    p_value: null,
    alpha,
    min_labels: minLabels,
  };
  if (primary.length === 0 && canary.length === 0) return base;
  const regression = [...primary, ...canary].every((item) => typeof item.label === "number");
  return regression
    ? scoreRegression(primary, canary, base, minLabels)
    : scoreClassification(primary, canary, base, minLabels);
}

function scoreClassification(
  primary: readonly LabelledPrediction[],
  canary: readonly LabelledPrediction[],
  base: UnpairedComparison,
  minLabels: number,
): UnpairedComparison {
  const side = (items: readonly LabelledPrediction[]): SideScore => {
    const errors = items.filter((item) => item.prediction !== item.label).length;
    const n = items.length;
    return { ...emptySide(), labelled: n, errors, error_rate: n > 0 ? errors / n : null };
  };
  const p = side(primary);
  const c = side(canary);
  const scored = {
    ...base,
    kind: "classification" as const,
    test: "fisher_exact" as const,
    primary: p,
    canary: c,
  };
  if (!enough(scored, minLabels)) return tooFew(scored, minLabels);
  const pe = p.errors ?? 0;
  const ce = c.errors ?? 0;
  const pValue = fisherExact(pe, p.labelled - pe, ce, c.labelled - ce);
  const worse = pValue < scored.alpha && (c.error_rate ?? 0) > (p.error_rate ?? 0);
  return decide({ ...scored, p_value: pValue }, worse, "Fisher's exact test on the error rates");
}

function scoreRegression(
  primary: readonly LabelledPrediction[],
  canary: readonly LabelledPrediction[],
  base: UnpairedComparison,
  minLabels: number,
): UnpairedComparison {
  const absErrors = (items: readonly LabelledPrediction[]) =>
    items.flatMap((item) =>
      typeof item.prediction === "number" ? [Math.abs(item.prediction - (item.label as number))] : [],
    );
  const pe = absErrors(primary);
  const ce = absErrors(canary);
  const side = (errors: number[], all: number): SideScore => ({
    ...emptySide(),
    labelled: errors.length,
    unusable: all - errors.length,
    mean_abs_error: errors.length > 0 ? errors.reduce((s, e) => s + e, 0) / errors.length : null,
  });
  const scored = {
    ...base,
    kind: "regression" as const,
    test: "welch_t" as const,
    primary: side(pe, primary.length),
    canary: side(ce, canary.length),
  };
  if (!enough(scored, minLabels) || pe.length < 2 || ce.length < 2) return tooFew(scored, minLabels);
  const test = welchTTest(pe, ce);
  const withTest = { ...scored, t_statistic: test.statistic, df: test.df, p_value: test.p_value };
  const worse = test.p_value < scored.alpha && test.mean_difference < 0;
  return decide(withTest, worse, "Welch's t-test on the absolute errors");
}

function enough(scored: UnpairedComparison, minLabels: number): boolean {
  return scored.primary.labelled >= minLabels && scored.canary.labelled >= minLabels;
}

function tooFew(scored: UnpairedComparison, minLabels: number): UnpairedComparison {
  return {
    ...scored,
    reason:
      `too few labels to count: ${scored.primary.labelled} on the primary and ` +
      `${scored.canary.labelled} on the canary, fewer than min_labels (${minLabels}) a side`,
  };
}

function decide(scored: UnpairedComparison, worse: boolean, testName: string): UnpairedComparison {
  const p = scored.p_value as number;
  const figures =
    scored.kind === "classification"
      ? `the canary's error rate ${pct(scored.canary.error_rate)} against the primary's ${pct(scored.primary.error_rate)}`
      : `the canary's mean absolute error ${num(scored.canary.mean_abs_error)} against the primary's ${num(scored.primary.mean_abs_error)}`;
  const labels = `on ${scored.canary.labelled} and ${scored.primary.labelled} labelled requests`;
  const outcome = worse
    ? `significantly worse: ${testName} gives p = ${formatP(p)} < ${scored.alpha}`
    : p < scored.alpha
      ? `significantly better: ${testName} gives p = ${formatP(p)} < ${scored.alpha}`
      : `no significant difference: ${testName} gives p = ${formatP(p)} ≥ ${scored.alpha}`;
  return { ...scored, counted: true, worse, reason: `${figures} ${labels}, ${outcome}` };
}

const pct = (x: number | null) => (x === null ? "n/a" : `${(x * 100).toFixed(2)}%`);
const num = (x: number | null) => (x === null ? "n/a" : x.toPrecision(4));

function formatP(p: number): string {
  return p < 0.001 ? p.toExponential(2) : p.toPrecision(3);
}
