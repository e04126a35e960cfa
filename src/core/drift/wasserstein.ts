/**
 * The first Wasserstein distance between two samples, as `scipy.stats.wasserstein_distance(u, v)`:
 * the integral of |U(x) − V(x)| over x, where U and V are the empirical CDFs (SciPy's
 * `_cdf_distance` with p = 1). Drift is judged on it divided by the reference's standard
 * deviation, as Evidently's `wasserstein` stattest ("normed") does.
 */

/** The smallest standard deviation divided by: a constant reference would otherwise divide by 0 (Evidently uses 0.001 too). */
export const MIN_NORM_STD = 0.001;

/**
 * W1 between two samples sorted ascending, in one merge walk. Each term is the product SciPy
 * forms, |i/n − j/m| · (next value − this value); the terms are added with Neumaier's
 * compensation, so the result is within an ulp or two of SciPy's pairwise dot product.
 */
export function wassersteinDistance(a: Float64Array, b: Float64Array): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) throw new RangeError("wasserstein_distance needs two non-empty samples");
  let i = 0;
  let j = 0;
  let sum = 0;
  let compensation = 0;
  while (i < n || j < m) {
    const ai = i < n ? (a[i] as number) : Number.POSITIVE_INFINITY;
    const bj = j < m ? (b[j] as number) : Number.POSITIVE_INFINITY;
    const value = Math.min(ai, bj);
    while (i < n && (a[i] as number) <= value) i++;
    while (j < m && (b[j] as number) <= value) j++;
    if (i === n && j === m) break;
    const next = Math.min(
      i < n ? (a[i] as number) : Number.POSITIVE_INFINITY,
      j < m ? (b[j] as number) : Number.POSITIVE_INFINITY,
    );
    const term = Math.abs(i / n - j / m) * (next - value);
    const t = sum + term;
    compensation += Math.abs(sum) >= term ? sum - t + term : term - t + sum;
    sum = t;
  }
  return sum + compensation;
}

/** The population standard deviation (ddof = 0), as `numpy.std`: two passes, for accuracy. */
export function standardDeviation(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  let total = 0;
  for (let i = 0; i < n; i++) total += values[i] as number;
  const mean = total / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    squares += d * d;
  }
  return Math.sqrt(squares / n);
}

/** W1 divided by the reference's standard deviation (at least `MIN_NORM_STD`): Evidently's normed Wasserstein. */
export function normedWasserstein(
  reference: Float64Array,
  current: Float64Array,
  referenceStd: number,
): number {
  return wassersteinDistance(reference, current) / Math.max(referenceStd, MIN_NORM_STD);
}
