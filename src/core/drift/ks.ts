/**
 * The two-sample Kolmogorov–Smirnov test, two-sided, reproducing `scipy.stats.ks_2samp` with its
 * default `method='auto'` step by step (scipy/stats/_stats_py.py, SciPy 1.17): the same statistic
 * (ties included), the same exact/asymptotic switch, the same exact algorithms (Hodges 1958,
 * "The Significance Probability of the Smirnov Two-Sample Test", Ark. Mat. 3(43); Viehmann 2021,
 * arXiv:2102.08037) and the same fallback to the asymptotic `kstwo` distribution.
 */

import { kstwoSf } from "./kolmogorov-distribution.js";
import { sortFloat64 } from "./radix-sort.js";

/** `ks_2samp`'s `MAX_AUTO_N`: 'auto' is exact when both sizes are at most this. */
export const KS_MAX_EXACT_N = 10_000;

/** What `scipy.stats.ks_2samp(reference, current)` returns (two-sided), and how its p-value was found. */
export interface KsResult {
  statistic: number;
  pvalue: number;
  method: "exact" | "asymp";
}

/**
 * A sorted copy of the values, ascending: each sample is sorted once and shared by every method.
 * `scratch` (from `radixScratch`) is working room shared by several sorts.
 */
export function sortedCopy(values: ArrayLike<number>, scratch?: Uint32Array): Float64Array {
  return sortFloat64(values instanceof Float64Array ? values.slice() : Float64Array.from(values), scratch);
}

/**
 * The largest positive and negative gaps between the two empirical CDFs, evaluated as
 * `ks_2samp` does: at every observed value, counting each sample's values ≤ it
 * (`searchsorted(side='right')`), so tied values move both CDFs together. One merge walk.
 */
export function ksGaps(a: Float64Array, b: Float64Array): { maxS: number; minS: number } {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let max = Number.NEGATIVE_INFINITY;
  let min = Number.POSITIVE_INFINITY;
  while (i < n1 || j < n2) {
    const ai = i < n1 ? (a[i] as number) : Number.POSITIVE_INFINITY;
    const bj = j < n2 ? (b[j] as number) : Number.POSITIVE_INFINITY;
    const value = Math.min(ai, bj);
    while (i < n1 && (a[i] as number) <= value) i++;
    while (j < n2 && (b[j] as number) <= value) j++;
    const diff = i / n1 - j / n2;
    if (diff > max) max = diff;
    if (diff < min) min = diff;
  }
  return { maxS: max, minS: Math.min(1, Math.max(0, -min)) };
}

/**
 * The two-sided two-sample KS test on two samples sorted ascending (see `sortedCopy`), as
 * `scipy.stats.ks_2samp(a, b)`. Throws on an empty sample, as SciPy does.
 */
export function ksTwoSample(a: Float64Array, b: Float64Array): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError("Data passed to ks_2samp must not be empty");
  const { maxS, minS } = ksGaps(a, b);
  let d = Math.max(minS, maxS);
  if (Math.max(n1, n2) <= KS_MAX_EXACT_N) {
    const exact = attemptExact(n1, n2, d);
    d = exact.d;
    if (exact.success) return { statistic: d, pvalue: clip(exact.pvalue), method: "exact" };
  }
  // Smirnov's asymptotic distribution: kstwo with n = round(m·n/(m+n)) (SciPy's 'asymp', two-sided).
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = (m * n) / (m + n);
  return { statistic: d, pvalue: clip(kstwoSf(d, roundHalfEven(en))), method: "asymp" };
}

function clip(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/** numpy's `round`: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - Math.trunc(x)) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

function gcd(a: number, b: number): number {
  let [x, y] = [a, b];
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/**
 * `_attempt_exact_2kssamp` (two-sided): D is snapped to the lattice h/lcm(n1, n2); a result
 * outside [0, 1] or not finite counts as a failure, which sends the caller to 'asymp' with the
 * snapped D, as in SciPy.
 */
function attemptExact(n1: number, n2: number, d: number): { success: boolean; d: number; pvalue: number } {
  const g = gcd(n1, n2);
  const lcm = (n1 / g) * n2;
  const h = roundHalfEven(d * lcm);
  const snapped = h / lcm;
  if (h === 0) return { success: true, d: snapped, pvalue: 1 };
  const p = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
  return { success: Number.isFinite(p) && p >= 0 && p <= 1, d: snapped, pvalue: p };
}

/**
 * Pr(D_{n,n} ≥ h/n) for equal sizes (`_compute_prob_outside_square`): the alternating sum of
 * binomial ratios, factored Horner-style to avoid cancellation.
 */
function probOutsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    p = p1 * (1 - p);
  }
  return 2 * p;
}

/**
 * 1 − Pr(all lattice paths stay strictly inside |x/m − y/n| < h/lcm), by the "inside method"
 * recursion for the complement (`_compute_outer_prob_inside_method`, Viehmann 2021), keeping
 * one sliding column.
 */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  const [m, n] = m0 >= n0 ? [m0, n0] : [n0, m0];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  A.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((A[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) A.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return A[maxj - minj - 1] as number;
}
