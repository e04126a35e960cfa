/**
 * What kind a column is, which method judges it by default, and how a result becomes a state.
 *
 * The default rule is Evidently's (`_get_default_stattest`, evidently/legacy/calculations/
 * stattests/registry.py): with at most 1,000 reference rows, KS for numeric columns with more
 * than 5 distinct values, chi-square for other categorical ones and a Z-test for binary ones,
 * all at p ≤ 0.05; with more, normed Wasserstein for numeric columns and Jensen–Shannon for the
 * rest, both at 0.1. Beyond it: three states with a `possible` band (as whylogs has), a minimum
 * sample size, and distances judged against a noise floor as well as their threshold.
 */

/** numeric: more than 5 distinct numbers; binary: at most 2 distinct values; categorical: the rest. */
export type ColumnKind = "numeric" | "categorical" | "binary";

/** The methods, named as in the CLI and the JSON. */
export const DRIFT_METHODS = ["ks", "wasserstein", "psi", "jensenshannon", "chisquare", "ztest"] as const;
/** One of `DRIFT_METHODS`: ks, chisquare and ztest are tests (judged by p-value), the rest distances. */
export type DriftMethod = (typeof DRIFT_METHODS)[number];

/** `possible` is a borderline result: worth a look, not a page. */
export type DriftState = "stable" | "possible" | "drifted";

/** A column's values in one file: numbers in a typed array, or counts per category. */
export type ColumnSample =
  | { kind: "numeric"; values: Float64Array }
  | { kind: "categorical"; counts: ReadonlyMap<string, number> };

/** Evidently's switch from tests to distances: references larger than this get distances. */
export const LARGE_REFERENCE_ROWS = 1000;
/** Numeric columns with at most this many distinct values (both files together) are treated as categories. */
export const FEW_DISTINCT_VALUES = 5;
/** The tests' default p-value threshold. */
export const DEFAULT_P_THRESHOLD = 0.05;
/** The distances' default threshold (normed Wasserstein, Jensen–Shannon, PSI), as in Evidently. */
export const DEFAULT_DISTANCE_THRESHOLD = 0.1;
/** A test is `possible` up to this multiple of its p threshold (0.05 < p ≤ 0.10). */
export const POSSIBLE_P_FACTOR = 2;
/** A distance is `possible` from this fraction of its threshold (≥ 0.075 for 0.1). */
export const POSSIBLE_DISTANCE_FACTOR = 0.75;
/**
 * Fewer rows than this on either side are never called drifted: the usual rule of thumb for the
 * asymptotics every method leans on, and what keeps 8 rows from paging anyone.
 */
export const MIN_SAMPLE_SIZE = 30;

/** The methods that answer with a p-value (scored by it) rather than a distance. */
export function isTest(method: DriftMethod): boolean {
  return method === "ks" || method === "chisquare" || method === "ztest";
}

/** The methods that need numbers rather than categories. */
export function needsNumbers(method: DriftMethod): boolean {
  return method === "ks" || method === "wasserstein";
}

/** The threshold a method is judged at unless one is given. */
export function defaultThreshold(method: DriftMethod): number {
  return isTest(method) ? DEFAULT_P_THRESHOLD : DEFAULT_DISTANCE_THRESHOLD;
}

/** How many distinct numbers two samples hold together, counting no further than `limit` + 1. */
function distinctNumbers(a: Float64Array, b: Float64Array, limit: number): number {
  const seen = new Set<number>();
  for (const values of [a, b]) {
    for (let i = 0; i < values.length; i++) {
      seen.add(values[i] as number);
      if (seen.size > limit) return seen.size;
    }
  }
  return seen.size;
}

/** The kind of a column from both files' values (Evidently counts distinct values over both). */
export function detectKind(reference: ColumnSample, current: ColumnSample): ColumnKind {
  if (reference.kind === "numeric" && current.kind === "numeric") {
    const distinct = distinctNumbers(reference.values, current.values, FEW_DISTINCT_VALUES);
    if (distinct <= 2) return "binary";
    return distinct <= FEW_DISTINCT_VALUES ? "categorical" : "numeric";
  }
  const referenceCounts = categoryCounts(reference);
  // The size of the union of both files' categories, counted only as far as it matters.
  let categories = referenceCounts.size;
  for (const category of categoryCounts(current).keys()) {
    if (categories > 2) break;
    if (!referenceCounts.has(category)) categories++;
  }
  return categories <= 2 ? "binary" : "categorical";
}

/** A sample as counts per category; numbers become their shortest string form. */
export function categoryCounts(sample: ColumnSample): ReadonlyMap<string, number> {
  if (sample.kind === "categorical") return sample.counts;
  const counts = new Map<string, number>();
  for (let i = 0; i < sample.values.length; i++) {
    const key = String(sample.values[i]);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Evidently's default method for a column of this kind and reference size. */
export function defaultMethod(kind: ColumnKind, referenceSize: number): DriftMethod {
  if (referenceSize <= LARGE_REFERENCE_ROWS) {
    if (kind === "numeric") return "ks";
    return kind === "binary" ? "ztest" : "chisquare";
  }
  return kind === "numeric" ? "wasserstein" : "jensenshannon";
}

/** A test's state from its p-value: drifted at p ≤ threshold, possible up to twice that. */
export function judgeTest(pvalue: number, threshold: number): DriftState {
  if (pvalue <= threshold) return "drifted";
  return pvalue <= POSSIBLE_P_FACTOR * threshold ? "possible" : "stable";
}

/**
 * A distance's state: drifted only when the score reaches the threshold and exceeds the noise
 * floor; possible from 0.75 × threshold, or at the threshold but within the noise.
 */
export function judgeDistance(score: number, threshold: number, noiseFloor: number): DriftState {
  if (score >= threshold && score > noiseFloor) return "drifted";
  return score >= POSSIBLE_DISTANCE_FACTOR * threshold ? "possible" : "stable";
}
