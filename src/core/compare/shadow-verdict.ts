import { mcnemarExact } from "./mcnemar.js";
import { pairedTTest } from "./paired-t.js";

/** A prediction or label as read from a JSON answer: a class (string or boolean) or a number. */
export type Prediction = string | number | boolean | null;

/** One request both sides answered, with its ground truth. */
export interface LabelledPair {
  primary_prediction: Prediction;
  shadow_prediction: Prediction;
  label: string | number | boolean;
}

export type Verdict = "candidate_better" | "candidate_worse" | "inconclusive";

export interface VerdictOptions {
  /** The significance level; 0.05 unless told. */
  alpha?: number;
  /** Below this many usable labelled pairs the verdict is inconclusive whatever the p-value; 30 unless told. */
  min_labelled?: number;
}

/** The verdict and every figure it rests on, so a reader can check it. */
export interface ShadowVerdict {
  verdict: Verdict;
  /** Why: the test and its outcome, or what was missing. */
  reason: string;
  /** `classification` when the labels are classes (strings, booleans), `regression` when numbers. */
  kind: "classification" | "regression" | null;
  test: "mcnemar_exact" | "paired_t" | null;
  /** Labelled pairs the test used. */
  labelled: number;
  /** Labelled pairs it could not use: a regression pair whose side answered no number. */
  unusable: number;
  /** Classification: pairs the primary got right and the candidate wrong (b), and the reverse (c). */
  primary_right_candidate_wrong: number | null;
  primary_wrong_candidate_right: number | null;
  primary_accuracy: number | null;
  candidate_accuracy: number | null;
  /** Regression: mean absolute error of each side, and the paired t statistic on their difference. */
  primary_mean_abs_error: number | null;
  candidate_mean_abs_error: number | null;
  t_statistic: number | null;
  df: number | null;
  p_value: number | null;
  alpha: number;
  min_labelled: number;
}

const DEFAULT_ALPHA = 0.05;
const DEFAULT_MIN_LABELLED = 30;

/**
 * Scores the primary and the candidate (a shadow) on the same labelled requests and says which
 * is better, if the evidence says so: McNemar's exact test when the labels are classes (a side
 * is right when its prediction equals the label; no answer is wrong), the paired t-test on
 * absolute errors when they are numbers (pairs where a side gave no number are left out and
 * counted). A JSON number is a quantity: a class id should be sent as a string.
 */
export function shadowVerdict(pairs: readonly LabelledPair[], options: VerdictOptions = {}): ShadowVerdict {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const minLabelled = options.min_labelled ?? DEFAULT_MIN_LABELLED;
  const base: ShadowVerdict = {
    verdict: "inconclusive",
    reason: "no labelled pairs yet",
    kind: null,
    test: null,
    labelled: 0,
    unusable: 0,
    primary_right_candidate_wrong: null,
    primary_wrong_candidate_right: null,
    primary_accuracy: null,
    candidate_accuracy: null,
    primary_mean_abs_error: null,
    candidate_mean_abs_error: null,
    t_statistic: null,
    df: null,
    p_value: null,
    alpha,
    min_labelled: minLabelled,
  };
  if (pairs.length === 0) return base;
  const regression = pairs.every((pair) => typeof pair.label === "number");
  const scored = regression ? scoreRegression(pairs, base) : scoreClassification(pairs, base);
  return decide(scored, alpha, minLabelled);
}

function scoreClassification(pairs: readonly LabelledPair[], base: ShadowVerdict): ShadowVerdict {
  let primaryRight = 0;
  let candidateRight = 0;
  let b = 0;
  let c = 0;
  for (const pair of pairs) {
    const p = pair.primary_prediction === pair.label;
    const s = pair.shadow_prediction === pair.label;
    if (p) primaryRight++;
    if (s) candidateRight++;
    if (p && !s) b++;
    if (!p && s) c++;
  }
  const n = pairs.length;
  return {
    ...base,
    kind: "classification",
    test: "mcnemar_exact",
    labelled: n,
    primary_right_candidate_wrong: b,
    primary_wrong_candidate_right: c,
    primary_accuracy: primaryRight / n,
    candidate_accuracy: candidateRight / n,
    p_value: mcnemarExact(b, c),
  };
}

function scoreRegression(pairs: readonly LabelledPair[], base: ShadowVerdict): ShadowVerdict {
  const primaryErrors: number[] = [];
  const candidateErrors: number[] = [];
  for (const pair of pairs) {
    const label = pair.label as number;
    const p = pair.primary_prediction;
    const s = pair.shadow_prediction;
    if (typeof p !== "number" || typeof s !== "number") continue;
    primaryErrors.push(Math.abs(p - label));
    candidateErrors.push(Math.abs(s - label));
  }
  const n = primaryErrors.length;
  const scored: ShadowVerdict = {
    ...base,
    kind: "regression",
    test: "paired_t",
    labelled: n,
    unusable: pairs.length - n,
  };
  if (n === 0) return scored;
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  scored.primary_mean_abs_error = mean(primaryErrors);
  scored.candidate_mean_abs_error = mean(candidateErrors);
  if (n < 2) return scored;
  // t > 0 when the primary's errors are the larger: the candidate is better.
  const test = pairedTTest(primaryErrors, candidateErrors);
  return { ...scored, t_statistic: test.statistic, df: test.df, p_value: test.p_value };
}

function decide(scored: ShadowVerdict, alpha: number, minLabelled: number): ShadowVerdict {
  if (scored.labelled < minLabelled) {
    return {
      ...scored,
      reason: `${scored.labelled} usable labelled pairs, fewer than the ${minLabelled} required`,
    };
  }
  const p = scored.p_value;
  if (p === null || Number.isNaN(p)) return { ...scored, reason: "the test could not be computed" };
  const testName =
    scored.test === "mcnemar_exact" ? "McNemar's exact test" : "the paired t-test on absolute errors";
  if (p >= alpha) {
    return { ...scored, reason: `no significant difference: ${testName} gives p = ${formatP(p)} ≥ ${alpha}` };
  }
  const candidateBetter =
    scored.kind === "classification"
      ? (scored.primary_wrong_candidate_right ?? 0) > (scored.primary_right_candidate_wrong ?? 0)
      : (scored.t_statistic ?? 0) > 0;
  const verdict: Verdict = candidateBetter ? "candidate_better" : "candidate_worse";
  return { ...scored, verdict, reason: `${testName} gives p = ${formatP(p)} < ${alpha}` };
}

function formatP(p: number): string {
  return p < 0.001 ? p.toExponential(2) : p.toPrecision(3);
}
