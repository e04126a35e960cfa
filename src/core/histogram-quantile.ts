/**
 * Quantiles of a bucketed histogram, as Prometheus's `histogram_quantile` computes them: the
 * quantile's rank is found in the cumulative counts, and the value is interpolated linearly
 * within the bucket that holds it, as if its observations were spread evenly across the bucket.
 * The first bucket starts at 0; a rank in the overflow bucket (above the last bound) answers the
 * last bound, since nothing is known of how far beyond it the observations lie.
 */

/**
 * The `q`-quantile (0 ≤ q ≤ 1) of a histogram whose `buckets[i]` counts the observations in
 * (bounds[i − 1], bounds[i]] (the first from 0), and whose last entry, one past the bounds,
 * counts those above the last bound. Null when the histogram is empty: with no observation there
 * is no quantile, and a caller must not mistake one for 0.
 */
export function histogramQuantile(
  q: number,
  bounds: readonly number[],
  buckets: readonly number[],
): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`a quantile must be between 0 and 1, not ${q}`);
  if (buckets.length !== bounds.length + 1) {
    throw new RangeError(`a histogram of ${bounds.length} bounds has ${bounds.length + 1} buckets`);
  }
  let total = 0;
  for (const count of buckets) total += count;
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const count = buckets[i] ?? 0;
    // The first bucket whose cumulative count reaches the rank; an empty one holds no rank, so
    // q = 0 answers where the first observations start rather than 0 ÷ 0.
    if (count > 0 && below + count >= rank) {
      const start = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const end = bounds[i] ?? start;
      return start + (end - start) * ((rank - below) / count);
    }
    below += count;
  }
  return bounds.at(-1) ?? null;
}
