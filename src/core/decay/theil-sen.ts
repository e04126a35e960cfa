import { normalQuantile } from "./normal-quantile.js";

/** A Theil–Sen fit: the median of pairwise slopes, with Sen's confidence interval. */
export interface TheilSenFit {
  slope: number;
  /** median(y) − slope × median(x): SciPy's `method="separate"`, its default. */
  intercept: number;
  /** The interval's ends, or null when it cannot be had (every y tied, say). */
  low_slope: number | null;
  high_slope: number | null;
  /** How many pairwise slopes there were (pairs with distinct x). */
  pairs: number;
}

/**
 * The Theil–Sen estimator of y against x with its `confidence` interval (default 95%), as
 * `scipy.stats.theilslopes(y, x, alpha)` computes it: the median of the slopes of every pair
 * with x₁ < x₂, and the interval's ends picked from the sorted slopes at Sen's (1968, eq. 2.6)
 * ranks, ties in x and in y taken off the variance. Undefined for fewer than two distinct x.
 *
 * Quadratic in the points: callers bound them (a few hundred windows per deployment).
 */
export function theilSen(
  x: readonly number[],
  y: readonly number[],
  confidence = 0.95,
): TheilSenFit | undefined {
  const n = y.length;
  if (x.length !== n) throw new RangeError("x and y must be as long as each other");
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    const xi = x[i] as number;
    const yi = y[i] as number;
    for (let j = 0; j < n; j++) {
      const dx = xi - (x[j] as number);
      if (dx > 0) slopes.push((yi - (y[j] as number)) / dx);
    }
  }
  if (slopes.length === 0) return undefined;
  slopes.sort((a, b) => a - b);
  const slope = median(slopes);
  const intercept = median([...y].sort((a, b) => a - b)) - slope * median([...x].sort((a, b) => a - b));
  const alpha = confidence > 0.5 ? 1 - confidence : confidence;
  const z = normalQuantile(alpha / 2);
  const sigsq = (n * (n - 1) * (2 * n + 5) - tieTerm(x) - tieTerm(y)) / 18;
  const nt = slopes.length;
  let low_slope: number | null = null;
  let high_slope: number | null = null;
  if (sigsq >= 0) {
    const sigma = Math.sqrt(sigsq);
    const upper = Math.min(roundHalfEven((nt - z * sigma) / 2), nt - 1);
    const lower = Math.max(roundHalfEven((nt + z * sigma) / 2) - 1, 0);
    // NumPy indexes from the end with a negative index; Sen's ranks never go below −nt here.
    low_slope = slopes.at(lower) ?? null;
    high_slope = slopes.at(upper) ?? null;
  }
  return { slope, intercept, low_slope, high_slope, pairs: nt };
}

/** Σ k(k−1)(2k+5) over the sizes k of each group of tied values. */
function tieTerm(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let sum = 0;
  for (const k of counts.values()) if (k > 1) sum += k * (k - 1) * (2 * k + 5);
  return sum;
}

/** The median of sorted values (the mean of the middle two for an even count). */
export function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** NumPy's `np.round`: halves go to the even neighbour. */
function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
