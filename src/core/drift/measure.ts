/**
 * One column measured by one method: the statistic SciPy would give, the p-value for tests, the
 * score that is judged, and, for distances, the noise floor at these sample sizes. Each sample
 * is sorted at most once, and only when the method needs it.
 */

import { binCounts, DEFAULT_BINS } from "./binning.js";
import { chiSquareContingency } from "./chi-square.js";
import { type ColumnKind, type ColumnSample, categoryCounts, type DriftMethod } from "./detect.js";
import { jensenShannonDistance } from "./jensen-shannon.js";
import { ksTwoSample, sortedCopy } from "./ks.js";
import { jensenShannonNoiseFloor, psiNoiseFloor, wassersteinNoiseFloor } from "./noise-floor.js";
import { psi } from "./psi.js";
import { referenceBins } from "./quantile-select.js";
import { radixScratch, sortFloat64 } from "./radix-sort.js";
import { normedWasserstein, standardDeviation, wassersteinDistance } from "./wasserstein.js";
import { twoProportionZTest } from "./z-test.js";

/** What a method found for one column. */
export interface Measurement {
  statistic: number;
  pvalue: number | null;
  score: number;
  noiseFloor: number | null;
}

/** Two histograms over the same bins: reference-quantile bins for numbers, categories otherwise. */
export interface Histograms {
  reference: ArrayLike<number>;
  current: ArrayLike<number>;
}

/**
 * The histograms PSI and Jensen–Shannon compare. Numbers with more than 5 distinct values use the
 * reference-quantile bins; categories (and few-valued numbers) use one bin per category seen in
 * either file, in sorted order.
 */
export function histograms(
  kind: ColumnKind,
  reference: ColumnSample,
  current: ColumnSample,
  bins: number,
): Histograms {
  if (kind === "numeric" && reference.kind === "numeric" && current.kind === "numeric") {
    // The reference is not sorted: its quantiles are selected, which leaves it as it was.
    const { edges, counts } = referenceBins(reference.values, bins);
    return { reference: counts, current: binCounts(current.values, edges) };
  }
  return alignedCounts(categoryCounts(reference), categoryCounts(current));
}

/**
 * Counts per category over the union of both files' categories, sorted by name (UTF-16 code
 * units, as the default sort orders strings). Loops rather than a Set of spread keys and
 * `Float64Array.from` with a callback, and plain arrays rather than typed ones (see
 * jensenShannonDistance): this runs for every categorical column, and those intermediate arrays
 * and calls were most of a comparison's time.
 */
export function alignedCounts(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): { reference: number[]; current: number[] } {
  const categories = Array.from(reference.keys());
  for (const category of current.keys()) if (!reference.has(category)) categories.push(category);
  categories.sort();
  const k = categories.length;
  const referenceCounts = new Array<number>(k);
  const currentCounts = new Array<number>(k);
  for (let i = 0; i < k; i++) {
    const category = categories[i] as string;
    referenceCounts[i] = reference.get(category) ?? 0;
    currentCounts[i] = current.get(category) ?? 0;
  }
  return { reference: referenceCounts, current: currentCounts };
}

/** Measures one column; the samples are non-empty, and numeric when the method needs numbers. */
export function measureColumn(
  method: DriftMethod,
  kind: ColumnKind,
  reference: ColumnSample,
  current: ColumnSample,
  bins = DEFAULT_BINS,
  inPlace = false,
): Measurement {
  switch (method) {
    case "ks":
    case "wasserstein":
      return measureNumbers(method, numbersOf(reference), numbersOf(current), inPlace);
    case "psi":
    case "jensenshannon": {
      const h = histograms(kind, reference, current, bins);
      const n = total(h.reference);
      const m = total(h.current);
      if (method === "psi") {
        const value = psi(h.reference, h.current);
        return {
          statistic: value,
          pvalue: null,
          score: value,
          noiseFloor: psiNoiseFloor(h.reference.length, n, m),
        };
      }
      const value = jensenShannonDistance(h.reference, h.current);
      return {
        statistic: value,
        pvalue: null,
        score: value,
        noiseFloor: jensenShannonNoiseFloor(h.reference.length, n, m),
      };
    }
    case "chisquare": {
      const h = alignedCounts(categoryCounts(reference), categoryCounts(current));
      const result = chiSquareContingency(h.reference, h.current);
      return { statistic: result.statistic, pvalue: result.pvalue, score: result.pvalue, noiseFloor: null };
    }
    case "ztest":
      return measureProportions(categoryCounts(reference), categoryCounts(current));
  }
}

function numbersOf(sample: ColumnSample): Float64Array {
  if (sample.kind !== "numeric") throw new TypeError("a numeric method was given categories");
  return sample.values;
}

function total(counts: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) sum += counts[i] as number;
  return sum;
}

function measureNumbers(
  method: "ks" | "wasserstein",
  referenceValues: Float64Array,
  currentValues: Float64Array,
  inPlace: boolean,
): Measurement {
  // Sorting in place spares a copy of each column; only a caller that owns the data may ask.
  // One working buffer serves both sorts, rather than one each left for the collector.
  const scratch = radixScratch(Math.max(referenceValues.length, currentValues.length));
  const reference = inPlace ? sortFloat64(referenceValues, scratch) : sortedCopy(referenceValues, scratch);
  const current = inPlace ? sortFloat64(currentValues, scratch) : sortedCopy(currentValues, scratch);
  if (method === "ks") {
    const result = ksTwoSample(reference, current);
    return { statistic: result.statistic, pvalue: result.pvalue, score: result.pvalue, noiseFloor: null };
  }
  const std = standardDeviation(reference);
  const distance = wassersteinDistance(reference, current);
  return {
    statistic: distance,
    pvalue: null,
    score: normedWasserstein(reference, current, std),
    noiseFloor: wassersteinNoiseFloor(reference, std, reference.length, current.length),
  };
}

/**
 * The Z-test on the share of the positive category: the one that sorts last of the two (so
 * `1`, `true`, `yes` against `0`, `false`, `no`). With one category only, both shares are 1.
 */
function measureProportions(
  reference: ReadonlyMap<string, number>,
  current: ReadonlyMap<string, number>,
): Measurement {
  const categories = [...new Set([...reference.keys(), ...current.keys()])].sort();
  const positive = categories[categories.length - 1] ?? "";
  const sum = (counts: ReadonlyMap<string, number>) => [...counts.values()].reduce((a, b) => a + b, 0);
  const result = twoProportionZTest(
    reference.get(positive) ?? 0,
    sum(reference),
    current.get(positive) ?? 0,
    sum(current),
  );
  return { statistic: result.statistic, pvalue: result.pvalue, score: result.pvalue, noiseFloor: null };
}
