import { numpySum } from "../drift/pairwise-sum.js";
import { studentTSf } from "./incomplete-beta.js";

/** What `scipy.stats.ttest_rel(x, y)` returns, and the figures behind it. */
export interface PairedTTest {
  /** t = mean(d) / (sd(d) / √n) with d = x − y; ±Infinity when every difference is the same non-zero value. */
  statistic: number;
  df: number;
  /** Two-sided; 1 when there is no difference at all (SciPy answers NaN there). */
  p_value: number;
  mean_difference: number;
}

/**
 * The paired t-test on x − y, as `scipy.stats.ttest_rel(x, y)` (two-sided): means and the
 * variance (ddof 1) are taken in numpy's summation order so the statistic agrees to the last
 * bits. Needs two pairs or more.
 */
export function pairedTTest(x: ArrayLike<number>, y: ArrayLike<number>): PairedTTest {
  const n = x.length;
  if (n !== y.length) throw new RangeError(`paired samples differ in length: ${n} and ${y.length}`);
  if (n < 2) throw new RangeError(`the paired t-test needs two pairs or more, got ${n}`);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = (x[i] as number) - (y[i] as number);
  const mean = numpySum(d) / n;
  const squares = new Float64Array(n);
  for (let i = 0; i < n; i++) squares[i] = ((d[i] as number) - mean) ** 2;
  const variance = numpySum(squares) / (n - 1);
  const df = n - 1;
  // Identical differences: SciPy divides by zero (±inf, p = 0; or NaN, p = NaN when all are 0).
  // No difference at all is no evidence, so p = 1 rather than NaN.
  if (variance === 0) {
    if (mean === 0) return { statistic: 0, df, p_value: 1, mean_difference: 0 };
    return { statistic: mean > 0 ? Infinity : -Infinity, df, p_value: 0, mean_difference: mean };
  }
  const statistic = mean / Math.sqrt(variance / n);
  return {
    statistic,
    df,
    p_value: Math.min(1, 2 * studentTSf(Math.abs(statistic), df)),
    mean_difference: mean,
  };
}
