/**
 * The Population Stability Index, PSI = Σ (cᵢ − rᵢ) · ln(cᵢ / rᵢ) over bins (or categories), where
 * rᵢ and cᵢ are the reference and current shares; a share of 0 is raised to 1e-4 first, as
 * Evidently does (and as is common practice since Siddiqi 2006), so that an empty bin gives a
 * large but finite term. PSI is the symmetrised Kullback–Leibler divergence (Jeffreys 1946).
 */

import { EMPTY_BIN_EPSILON } from "./binning.js";
import { numpySum } from "./pairwise-sum.js";

/** The shares of a histogram, with empty bins raised to `epsilon`. */
function shares(counts: ArrayLike<number>, epsilon: number): number[] {
  const total = numpySum(counts);
  // Plain arrays for these short-lived few dozen values: see jensenShannonDistance.
  const out = new Array<number>(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const share = (counts[i] as number) / total;
    out[i] = share === 0 ? epsilon : share;
  }
  return out;
}

/** PSI of two histograms over the same bins (counts, not shares). */
export function psi(
  referenceCounts: ArrayLike<number>,
  currentCounts: ArrayLike<number>,
  epsilon = EMPTY_BIN_EPSILON,
): number {
  const r = shares(referenceCounts, epsilon);
  const c = shares(currentCounts, epsilon);
  const terms = new Array<number>(r.length);
  for (let i = 0; i < r.length; i++) {
    const ri = r[i] as number;
    const ci = c[i] as number;
    terms[i] = (ci - ri) * Math.log(ci / ri);
  }
  return numpySum(terms);
}
