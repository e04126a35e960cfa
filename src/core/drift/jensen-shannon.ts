/**
 * The Jensen–Shannon distance in base 2 between two histograms, as
 * `scipy.spatial.distance.jensenshannon(p, q, base=2)`: √((KL(p‖m) + KL(q‖m)) / 2) with
 * m = (p + q)/2 (Lin 1991; Endres & Schindelin 2003 for the metric). It lies in [0, 1].
 */

import { numpySum } from "./pairwise-sum.js";

/** The base-2 Jensen–Shannon distance of two histograms over the same bins (counts or shares). */
export function jensenShannonDistance(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const pTotal = numpySum(p);
  const qTotal = numpySum(q);
  // The terms are kept only to be summed in numpy's order. Plain arrays, not Float64Arrays: a
  // typed array of more than 64 bytes gets a backing store outside V8's heap, and allocating two
  // of those cost more than the rest of this function for a histogram of a few dozen bins.
  const left = new Array<number>(p.length);
  const right = new Array<number>(p.length);
  for (let i = 0; i < p.length; i++) {
    const pi = (p[i] as number) / pTotal;
    const qi = (q[i] as number) / qTotal;
    const m = (pi + qi) / 2;
    // `scipy.special.rel_entr(x, m)`: x·log(x/m), 0 when x = 0, ∞ otherwise. Written out rather
    // than called: a CLI run compares once, in V8's interpreter, where a call per bin and side
    // cost much of the comparison's time.
    left[i] = pi > 0 && m > 0 ? pi * Math.log(pi / m) : pi === 0 && m >= 0 ? 0 : Number.POSITIVE_INFINITY;
    right[i] = qi > 0 && m > 0 ? qi * Math.log(qi / m) : qi === 0 && m >= 0 ? 0 : Number.POSITIVE_INFINITY;
  }
  const js = (numpySum(left) + numpySum(right)) / Math.LN2;
  return Math.sqrt(js / 2);
}
