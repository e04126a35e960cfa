import { binomialCdf } from "./incomplete-beta.js";

/**
 * McNemar's exact test for two classifiers scored on the same items: only the discordant pairs
 * count, `b` (the first right, the second wrong) and `c` (the reverse). Under the null
 * hypothesis that both are equally accurate, b ~ Bin(b + c, ½); the two-sided p-value is
 * min(1, 2 · P(X ≤ min(b, c))), as statsmodels' `mcnemar(table, exact=True)` computes it. With
 * no discordant pair at all, nothing tells the two apart: p = 1.
 */
export function mcnemarExact(b: number, c: number): number {
  if (!Number.isInteger(b) || !Number.isInteger(c) || b < 0 || c < 0) {
    throw new RangeError(`McNemar's counts must be non-negative integers, got b=${b}, c=${c}`);
  }
  return Math.min(1, 2 * binomialCdf(Math.min(b, c), b + c, 0.5));
}
