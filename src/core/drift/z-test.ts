/**
 * The two-proportion Z-test for a binary feature (pooled variance; e.g. Fleiss, Levin & Paik,
 * "Statistical Methods for Rates and Proportions", 3rd ed., §2.5), two-sided: Evidently's `z`
 * stattest for binary features. Its square equals `chi2_contingency(table, correction=False)`.
 */

import { normalSf } from "./special.js";

/** The Z statistic (current share minus reference share, over the pooled standard error) and its two-sided p-value. */
export interface ZTestResult {
  statistic: number;
  pvalue: number;
}

/**
 * The test of equal shares of the positive category in the reference and current samples;
 * p = 2·Φ̄(|z|) with Φ̄ = `scipy.stats.norm.sf`. When neither sample varies (all positive or
 * all negative) the shares are equal: z = 0, p = 1.
 */
export function twoProportionZTest(
  referencePositive: number,
  referenceSize: number,
  currentPositive: number,
  currentSize: number,
): ZTestResult {
  const pooled = (referencePositive + currentPositive) / (referenceSize + currentSize);
  const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / referenceSize + 1 / currentSize));
  if (standardError === 0) return { statistic: 0, pvalue: 1 };
  const statistic = (currentPositive / currentSize - referencePositive / referenceSize) / standardError;
  return { statistic, pvalue: 2 * normalSf(Math.abs(statistic)) };
}
