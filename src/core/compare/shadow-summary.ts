import type { Prediction } from "./shadow-verdict.js";

/** One pair as the summary needs it: both predictions, both statuses and latencies. */
export interface PairFigures {
  primary_prediction: Prediction;
  shadow_prediction: Prediction;
  primary_status: number;
  shadow_status: number;
  primary_latency_ms: number;
  shadow_latency_ms: number;
}

export interface LatencyQuantiles {
  p50: number | null;
  p99: number | null;
}

/** How a shadow's answers compare with the primary's on the same requests, labels aside. */
export interface ShadowSummary {
  pairs: number;
  /** Pairs where both sides gave a prediction. */
  both_answered: number;
  /** Of those, the share where the predictions are equal; null with none. */
  agreement_rate: number | null;
  /** Over pairs where both predictions are numbers: mean |shadow − primary|, null with none. */
  mean_abs_difference: number | null;
  /** The same relative to |primary|, over pairs whose primary prediction is not 0. */
  mean_rel_difference: number | null;
  /** Pairs the shadow failed: no answer (status 0) or a 5xx. */
  shadow_errors: number;
  primary_errors: number;
  primary_latency_ms: LatencyQuantiles;
  shadow_latency_ms: LatencyQuantiles;
}

/** Agreement, differences, errors and latency quantiles of a shadow's pairs. */
export function summarizePairs(pairs: readonly PairFigures[]): ShadowSummary {
  let both = 0;
  let agree = 0;
  let numeric = 0;
  let absSum = 0;
  let relative = 0;
  let relSum = 0;
  let shadowErrors = 0;
  let primaryErrors = 0;
  for (const pair of pairs) {
    const p = pair.primary_prediction;
    const s = pair.shadow_prediction;
    if (failed(pair.shadow_status)) shadowErrors++;
    if (failed(pair.primary_status)) primaryErrors++;
    if (p === null || s === null) continue;
    both++;
    if (p === s) agree++;
    if (typeof p === "number" && typeof s === "number") {
      numeric++;
      const difference = Math.abs(s - p);
      absSum += difference;
      if (p !== 0) {
        relative++;
        relSum += difference / Math.abs(p);
      }
    }
  }
  return {
    pairs: pairs.length,
    both_answered: both,
    agreement_rate: both === 0 ? null : agree / both,
    mean_abs_difference: numeric === 0 ? null : absSum / numeric,
    mean_rel_difference: relative === 0 ? null : relSum / relative,
    shadow_errors: shadowErrors,
    primary_errors: primaryErrors,
    primary_latency_ms: quantiles(pairs.map((p) => p.primary_latency_ms)),
    shadow_latency_ms: quantiles(pairs.map((p) => p.shadow_latency_ms)),
  };
}

function failed(status: number): boolean {
  return status === 0 || status >= 500;
}

function quantiles(values: number[]): LatencyQuantiles {
  if (values.length === 0) return { p50: null, p99: null };
  const sorted = Float64Array.from(values).sort();
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

/** The q-quantile of sorted values, interpolated linearly between order statistics (numpy's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const position = (sorted.length - 1) * q;
  const below = Math.floor(position);
  const above = Math.min(below + 1, sorted.length - 1);
  const low = sorted[below] as number;
  const high = sorted[above] as number;
  return low + (high - low) * (position - below);
}
