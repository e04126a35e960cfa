/**
 * Noise floors: the score that two samples of these sizes drawn from one distribution stay below
 * 95% of the time. A distance is called drifted only above both its threshold and its noise
 * floor, so that small samples, whose distances are large by chance alone, do not page anyone.
 *
 * - PSI: for two samples from one distribution, PSI / (1/n + 1/m) is asymptotically χ² with B − 1
 *   degrees of freedom (Yurdakul 2018, "Statistical Properties of the Population Stability Index",
 *   Western Michigan University), so the floor is χ²₀.₉₅(B − 1) · (1/n + 1/m).
 * - Jensen–Shannon: to second order JSD = ⅛ Σ (pᵢ − qᵢ)²/mᵢ nats (Lin 1991), the same Pearson form,
 *   so the base-2 distance's floor is √(χ²₀.₉₅(B − 1) · (1/n + 1/m) / (8 ln 2)).
 * - Wasserstein: √(nm/(n+m)) · W₁ tends to ∫|B(F(x))| dx for a Brownian bridge B (del Barrio, Giné &
 *   Matrán 1999, Ann. Probab. 27(2)); its 95th percentile is estimated by simulating bridges on the
 *   reference's quantile function with a fixed seed, so every run gives the same floor.
 */

import { seededNormal } from "../reservoir.js";
import { quantileSorted } from "./binning.js";
import { chiSquareIsf } from "./special.js";
import { MIN_NORM_STD } from "./wasserstein.js";

/** The no-drift quantile the floors are set at: the same 5% as the tests' p-value threshold. */
export const NOISE_LEVEL = 0.05;
const GRID = 200;
const REPLICATES = 400;
const SEED = 0x5eed_7e2e;

/**
 * The χ² quantile at NOISE_LEVEL for `df` degrees of freedom, remembered: inverting the survival
 * function is costly, and a comparison of many categorical columns asks for the same few
 * degrees of freedom again and again. The cache holds values of a pure function only.
 */
const noiseQuantiles = new Map<number, number>();
function noiseQuantile(df: number): number {
  let q = noiseQuantiles.get(df);
  if (q === undefined) {
    q = chiSquareIsf(NOISE_LEVEL, df);
    if (noiseQuantiles.size < 10_000) noiseQuantiles.set(df, q);
  }
  return q;
}

/** PSI's noise floor for `bins` bins and samples of sizes n and m. */
export function psiNoiseFloor(bins: number, n: number, m: number): number {
  if (bins < 2) return 0;
  return noiseQuantile(bins - 1) * (1 / n + 1 / m);
}

/** The base-2 Jensen–Shannon distance's noise floor for `bins` bins and samples of sizes n and m. */
export function jensenShannonNoiseFloor(bins: number, n: number, m: number): number {
  if (bins < 2) return 0;
  return Math.sqrt((noiseQuantile(bins - 1) * (1 / n + 1 / m)) / (8 * Math.LN2));
}

/**
 * The normed Wasserstein distance's noise floor: the 95th percentile of ∫|B(u)| dQ(u) over
 * simulated Brownian bridges B, Q the reference's quantile function, divided by √(nm/(n+m))
 * and by the reference's standard deviation (as the score is).
 */
export function wassersteinNoiseFloor(
  sortedReference: Float64Array,
  std: number,
  n: number,
  m: number,
): number {
  if (sortedReference.length < 2) return 0;
  const widths = new Float64Array(GRID);
  for (let j = 1; j < GRID; j++) {
    widths[j] =
      quantileSorted(sortedReference, (j + 0.5) / GRID) - quantileSorted(sortedReference, (j - 0.5) / GRID);
  }
  const normal = seededNormal(SEED);
  const step = Math.sqrt(1 / GRID);
  const walk = new Float64Array(GRID + 1);
  const integrals = new Float64Array(REPLICATES);
  for (let r = 0; r < REPLICATES; r++) {
    for (let j = 1; j <= GRID; j++) walk[j] = (walk[j - 1] as number) + normal() * step;
    const end = walk[GRID] as number;
    let integral = 0;
    for (let j = 1; j < GRID; j++)
      integral += Math.abs((walk[j] as number) - (j / GRID) * end) * (widths[j] as number);
    integrals[r] = integral;
  }
  integrals.sort();
  const effective = (n * m) / (n + m);
  return quantileSorted(integrals, 1 - NOISE_LEVEL) / Math.sqrt(effective) / Math.max(std, MIN_NORM_STD);
}
