import { numpySum } from "../drift/pairwise-sum.js";
import { studentTSf } from "./incomplete-beta.js";

/** What `scipy.stats.ttest_ind(x, y, equal_var=False)` returns, and the figures behind it. */
export interface WelchTTest {
  /** t = (mean(x) − mean(y)) / √(s²ₓ/nₓ + s²ᵧ/nᵧ); ±Infinity when both samples are constant and differ. */
  statistic: number;
  /** The Welch–Satterthwaite degrees of freedom (not an integer). */
  df: number;
  /** Two-sided; 1 when both samples are constant and equal (SciPy answers NaN there). */
  p_value: number;
  mean_difference: number;
}

/**
 * Welch's t-test of two independent samples with unequal variances, as
 * `scipy.stats.ttest_ind(x, y, equal_var=False)` (two-sided): means and variances (ddof 1) are
 * taken in numpy's summation order so the statistic agrees to the last bits. For samples that
 * saw different items (a canary's requests and its primary's), where a paired test cannot
 * apply. Needs two values or more in each sample.
 */
export function welchTTest(x: ArrayLike<number>, y: ArrayLike<number>): WelchTTest {
  if (x.length < 2 || y.length < 2)
    throw new RangeError(`Welch's t-test needs two values or more a side, got ${x.length} and ${y.length}`);
  const a = moments(x);
  const b = moments(y);
  const va = a.variance / x.length;
  const vb = b.variance / y.length;
  const se2 = va + vb;
  const meanDifference = a.mean - b.mean;
  // Both constant: SciPy divides by zero. No difference at all is no evidence, so p = 1.
  if (se2 === 0) {
    const df = x.length + y.length - 2;
    if (meanDifference === 0) return { statistic: 0, df, p_value: 1, mean_difference: 0 };
    const statistic = meanDifference > 0 ? Infinity : -Infinity;
    return { statistic, df, p_value: 0, mean_difference: meanDifference };
  }
  const df = (se2 * se2) / ((va * va) / (x.length - 1) + (vb * vb) / (y.length - 1));
  const statistic = meanDifference / Math.sqrt(se2);
  return {
    statistic,
    df,
    p_value: Math.min(1, 2 * studentTSf(Math.abs(statistic), df)),
    mean_difference: meanDifference,
  };
}

function moments(values: ArrayLike<number>): { mean: number; variance: number } {
  const n = values.length;
  const mean = numpySum(values) / n;
  const squares = new Float64Array(n);
  for (let i = 0; i < n; i++) squares[i] = ((values[i] as number) - mean) ** 2;
  return { mean, variance: numpySum(squares) / (n - 1) };
}
