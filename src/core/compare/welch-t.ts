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
  return welchTTestFromStats(
    { mean: a.mean, variance: a.variance, n: x.length },
    { mean: b.mean, variance: b.variance, n: y.length },
  );
}

/** One sample as its size, mean and variance (ddof 1). */
export interface SampleStats {
  mean: number;
  variance: number;
  n: number;
}

/**
 * Welch's t-test from each sample's mean, variance (ddof 1) and size, as
 * `scipy.stats.ttest_ind_from_stats(..., equal_var=False)` (two-sided, with standard deviations
 * √variance): for samples too large to hold, such as the 0/1 outcomes behind two rates, whose
 * moments follow from their counts. Needs two values or more in each sample.
 */
export function welchTTestFromStats(a: SampleStats, b: SampleStats): WelchTTest {
  if (a.n < 2 || b.n < 2)
    throw new RangeError(`Welch's t-test needs two values or more a side, got ${a.n} and ${b.n}`);
  const va = a.variance / a.n;
  const vb = b.variance / b.n;
  const se2 = va + vb;
  const meanDifference = a.mean - b.mean;
  // Both constant: SciPy divides by zero. No difference at all is no evidence, so p = 1.
  if (se2 === 0) {
    const df = a.n + b.n - 2;
    if (meanDifference === 0) return { statistic: 0, df, p_value: 1, mean_difference: 0 };
    const statistic = meanDifference > 0 ? Infinity : -Infinity;
    return { statistic, df, p_value: 0, mean_difference: meanDifference };
  }
  const df = (se2 * se2) / ((va * va) / (a.n - 1) + (vb * vb) / (b.n - 1));
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
