import { median, theilSen } from "./theil-sen.js";

/**
 * A model's decay curve: how fast its metric moves with deployment age, learned from the judged
 * windows of its deployments (the live one and the versions before it). Each deployment gets
 * its own robust Theil–Sen slope with Sen's interval; the model's slope is their median weighted
 * by windows, and the spread between versions is kept beside it.
 */

const DAY_MS = 86_400_000;

export interface DecayOptions {
  /** Judged windows needed across the deployments before a curve is learned (default 14). */
  min_history: number;
  /** Deployments with a slope needed (default 2): one version's history is not a model's. */
  min_deployments: number;
  /** The confidence of each slope's interval (default 0.95). */
  confidence: number;
  /** The most recent windows of one deployment that count (default 365): bounds the fit's cost. */
  max_windows_per_deployment: number;
}

export const DEFAULT_DECAY_OPTIONS: DecayOptions = {
  min_history: 14,
  min_deployments: 2,
  confidence: 0.95,
  max_windows_per_deployment: 365,
};

/** One judged window of a deployment (ok or below; never pending or insufficient_data). */
export interface DecayWindow {
  /** epoch ms */
  start: number;
  /** epoch ms */
  end: number;
  mean: number;
}

export interface DeploymentHistory {
  deployment_id: number;
  model_version: string;
  /** epoch ms */
  deployment_date: number;
  windows: readonly DecayWindow[];
}

/** One deployment's own fit: the metric against its age in days. */
export interface DeploymentSlope {
  deployment_id: number;
  model_version: string;
  windows: number;
  slope_per_day: number;
  interval_per_day: [number, number];
  /** The fitted metric at age 0. */
  intercept: number;
}

export interface DecayCurve {
  metric: string;
  direction: "higher" | "lower";
  /** The windows-weighted median of the deployments' slopes: the metric's change per day of age. */
  slope_per_day: number;
  /**
   * The interval of the slope: the weighted medians of the deployments' intervals, widened to the
   * spread between versions when the versions disagree (see `consistent`).
   */
  interval_per_day: [number, number];
  /** The fitted metric at age 0 (the weighted median of the deployments' intercepts). */
  intercept: number;
  /** The least and the greatest of the deployments' slopes. */
  spread_per_day: [number, number];
  /**
   * Whether the versions agree: the pooled slope lies within the intervals of deployments holding
   * at least half the windows. When they do not, the interval is widened to the spread.
   */
  consistent: boolean;
  based_on_deployments: number;
  based_on_windows: number;
  deployments: DeploymentSlope[];
}

export type DecayFit = { curve: DecayCurve; reason: null } | { curve: null; reason: string };

/** The metric's level the curve gives at `ageDays`. */
export function levelAt(curve: Pick<DecayCurve, "intercept" | "slope_per_day">, ageDays: number): number {
  return curve.intercept + curve.slope_per_day * ageDays;
}

/**
 * Fits the decay curve of one model's metric from its deployments' judged windows. Windows are
 * placed at their midpoint's age; a window before its deployment's date (a skewed clock) and a
 * non-finite mean are left out. Without enough history the fit is null with the reason.
 */
export function fitDecayCurve(
  metric: string,
  direction: "higher" | "lower",
  histories: readonly DeploymentHistory[],
  options: Partial<DecayOptions> = {},
): DecayFit {
  const o = { ...DEFAULT_DECAY_OPTIONS, ...options };
  const slopes: DeploymentSlope[] = [];
  let windows = 0;
  let skewed = 0;
  for (const h of histories) {
    const points = h.windows
      .filter((w) => Number.isFinite(w.mean) && Number.isFinite(w.start) && Number.isFinite(w.end))
      .map((w) => ({ age: ((w.start + w.end) / 2 - h.deployment_date) / DAY_MS, mean: w.mean }));
    const usable = points.filter((p) => p.age >= 0);
    skewed += points.length - usable.length;
    const recent = usable.sort((a, b) => a.age - b.age).slice(-o.max_windows_per_deployment);
    windows += recent.length;
    const fit = theilSen(
      recent.map((p) => p.age),
      recent.map((p) => p.mean),
      o.confidence,
    );
    if (!fit || !Number.isFinite(fit.slope) || !Number.isFinite(fit.intercept)) continue;
    slopes.push({
      deployment_id: h.deployment_id,
      model_version: h.model_version,
      windows: recent.length,
      slope_per_day: fit.slope,
      interval_per_day: [fit.low_slope ?? fit.slope, fit.high_slope ?? fit.slope],
      intercept: fit.intercept,
    });
  }
  const skewNote = skewed > 0 ? ` (${skewed} windows before their deployment's date were left out)` : "";
  if (windows < o.min_history) {
    return {
      curve: null,
      reason: `${windows} judged ${metric} window${windows === 1 ? "" : "s"} across ${histories.length} deployment${histories.length === 1 ? "" : "s"}; a curve needs at least ${o.min_history}${skewNote}`,
    };
  }
  if (slopes.length < o.min_deployments) {
    return {
      curve: null,
      reason: `${slopes.length} deployment${slopes.length === 1 ? "" : "s"} with a ${metric} slope (two judged windows at different ages); a curve needs at least ${o.min_deployments}${skewNote}`,
    };
  }
  const weights = slopes.map((s) => s.windows);
  const slope = weightedMedian(
    slopes.map((s) => s.slope_per_day),
    weights,
  );
  let low = weightedMedian(
    slopes.map((s) => s.interval_per_day[0]),
    weights,
  );
  let high = weightedMedian(
    slopes.map((s) => s.interval_per_day[1]),
    weights,
  );
  const least = Math.min(...slopes.map((s) => s.slope_per_day));
  const greatest = Math.max(...slopes.map((s) => s.slope_per_day));
  const agreeing = slopes
    .filter((s) => s.interval_per_day[0] <= slope && slope <= s.interval_per_day[1])
    .reduce((sum, s) => sum + s.windows, 0);
  const consistent = agreeing * 2 >= windows;
  if (!consistent) {
    low = Math.min(low, least);
    high = Math.max(high, greatest);
  }
  return {
    curve: {
      metric,
      direction,
      slope_per_day: slope,
      interval_per_day: [Math.min(low, slope), Math.max(high, slope)],
      intercept: weightedMedian(
        slopes.map((s) => s.intercept),
        weights,
      ),
      spread_per_day: [least, greatest],
      consistent,
      based_on_deployments: slopes.length,
      based_on_windows: slopes.reduce((sum, s) => sum + s.windows, 0),
      deployments: slopes,
    },
    reason: null,
  };
}

/**
 * The weighted median: the smallest value at which the cumulative weight reaches half the total,
 * the mean of the two values when it lands exactly on half (so equal weights give the median).
 */
export function weightedMedian(values: readonly number[], weights: readonly number[]): number {
  const order = values.map((v, i) => ({ v, w: weights[i] ?? 0 })).sort((a, b) => a.v - b.v);
  const total = order.reduce((sum, p) => sum + p.w, 0);
  if (order.length === 0 || !(total > 0)) return Number.NaN;
  let cumulative = 0;
  for (let i = 0; i < order.length; i++) {
    const p = order[i] as { v: number; w: number };
    cumulative += p.w;
    if (cumulative * 2 === total) return (p.v + (order[i + 1]?.v ?? p.v)) / 2;
    if (cumulative * 2 > total) return p.v;
  }
  return median(order.map((p) => p.v));
}
