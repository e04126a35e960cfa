import { logBeta } from "./incomplete-beta.js";

/**
 * Fisher's exact test on a 2×2 table [[a, b], [c, d]], two-sided, as `scipy.stats.fisher_exact`:
 * with the margins fixed, `a` follows the hypergeometric distribution, and the p-value is the
 * probability of every table no more likely than the one observed. It is exact at any count,
 * which is why the canary uses it: its labelled requests are often few, and the normal
 * approximation of a two-proportion z-test is poor exactly there.
 *
 * A row or column of zeros tells nothing: p = 1, as SciPy answers. Tables as likely as the
 * observed one up to a relative 1e-7 count as equally likely (R's `fisher.test` tolerance):
 * SciPy's own 1e-14 would let the last bits of two mathematically equal probabilities decide.
 */
export function fisherExact(a: number, b: number, c: number, d: number): number {
  for (const cell of [a, b, c, d]) {
    if (!Number.isInteger(cell) || cell < 0)
      throw new RangeError(`Fisher's exact test needs non-negative integer counts, got ${[a, b, c, d]}`);
  }
  const row1 = a + b;
  const row2 = c + d;
  const col1 = a + c;
  const total = row1 + row2;
  if (row1 === 0 || row2 === 0 || col1 === 0 || col1 === total) return 1;
  const logDenominator = logChoose(total, col1);
  const logPmf = (x: number) => logChoose(row1, x) + logChoose(row2, col1 - x) - logDenominator;
  const observed = logPmf(a);
  const limit = observed + Math.log1p(1e-7);
  const lowest = Math.max(0, col1 - row2);
  const highest = Math.min(row1, col1);
  let p = 0;
  for (let x = lowest; x <= highest; x++) {
    const value = x === a ? observed : logPmf(x);
    if (value <= limit) p += Math.exp(value);
  }
  return Math.min(1, p);
}

/** log C(n, k) = −log((n + 1) · B(n − k + 1, k + 1)); 0 at the edges, where it is exactly 1. */
function logChoose(n: number, k: number): number {
  if (k === 0 || k === n) return 0;
  return -Math.log(n + 1) - logBeta(n - k + 1, k + 1);
}
