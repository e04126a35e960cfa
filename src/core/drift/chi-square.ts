/**
 * Chi-square tests for categorical features. The default is the test of homogeneity on the 2×k
 * table of reference and current counts, `scipy.stats.chi2_contingency(table)` (with Yates'
 * continuity correction at one degree of freedom, SciPy's default): both samples are samples, and
 * a category seen only in the current data is counted rather than making the statistic infinite.
 * The goodness-of-fit form that Evidently uses, `scipy.stats.chisquare(current, expected)` with
 * expected counts from the reference's shares, is here too.
 */

import { numpySum } from "./pairwise-sum.js";
import { chiSquareSf } from "./special.js";

/** A chi-square test's outcome, as SciPy returns it. */
export interface ChiSquareResult {
  statistic: number;
  pvalue: number;
  dof: number;
}

/** Pearson's statistic Σ (o − e)²/e summed in numpy's order, and its p-value with `dof` degrees of freedom. */
function pearson(observed: ArrayLike<number>, expected: ArrayLike<number>, dof: number): ChiSquareResult {
  // Plain arrays for these short-lived values: see jensenShannonDistance.
  const terms = new Array<number>(observed.length);
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i] as number;
    terms[i] = ((observed[i] as number) - e) ** 2 / e;
  }
  const statistic = numpySum(terms);
  return { statistic, pvalue: chiSquareSf(statistic, dof), dof };
}

/**
 * `scipy.stats.chi2_contingency` on the 2×k table whose rows are the reference and current counts
 * per category. Every category must have a count in at least one row (else SciPy refuses the
 * table); one category gives statistic 0, p-value 1, as SciPy does.
 */
export function chiSquareContingency(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): ChiSquareResult {
  const k = referenceCounts.length;
  const dof = k - 1;
  if (dof === 0) return { statistic: 0, pvalue: 1, dof: 0 };
  const rowTotals = [numpySum(referenceCounts), numpySum(currentCounts)];
  const total = numpySum(rowTotals);
  const observed = new Array<number>(2 * k);
  const expected = new Array<number>(2 * k);
  for (let row = 0; row < 2; row++) {
    const counts = row === 0 ? referenceCounts : currentCounts;
    for (let j = 0; j < k; j++) {
      const column = (referenceCounts[j] as number) + (currentCounts[j] as number);
      observed[row * k + j] = counts[j] as number;
      expected[row * k + j] = ((rowTotals[row] as number) * column) / total;
    }
  }
  if (dof === 1) yatesCorrection(observed, expected);
  return pearson(observed, expected, dof);
}

/** Yates' continuity correction as SciPy applies it: each cell moves toward its expectation by at most 0.5 (gh-13875). */
function yatesCorrection(observed: number[], expected: readonly number[]): void {
  for (let i = 0; i < observed.length; i++) {
    const diff = (expected[i] as number) - (observed[i] as number);
    observed[i] = (observed[i] as number) + Math.min(0.5, Math.abs(diff)) * Math.sign(diff);
  }
}

/**
 * `scipy.stats.chisquare(current, expected)` with expected = reference share × current total:
 * goodness of fit of the current counts to the reference's shares, k − 1 degrees of freedom.
 * A category absent from the reference has an expected count of 0 and makes the statistic infinite.
 */
export function chiSquareGoodnessOfFit(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
): ChiSquareResult {
  const referenceTotal = numpySum(referenceCounts);
  const currentTotal = numpySum(currentCounts);
  const expected = new Array<number>(referenceCounts.length);
  for (let i = 0; i < expected.length; i++) {
    expected[i] = ((referenceCounts[i] as number) / referenceTotal) * currentTotal;
  }
  return pearson(currentCounts, expected, referenceCounts.length - 1);
}
