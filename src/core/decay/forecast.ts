import { formatDuration } from "../duration.js";
import type { DecayCurve, DecayWindow } from "./decay-curve.js";

/**
 * When a live deployment will cross its target, from where it started and how fast its model
 * decays: its baseline (or the mean of its first judged windows) moved along the model's slope.
 */

const DAY_MS = 86_400_000;

/** The `forecast` of a deployment's age block. */
export interface Forecast {
  metric: string;
  /** ISO 8601: when the curve crosses the target. */
  breach_at: string;
  /** From now; 0 when the crossing is already past by the curve (but not yet seen). */
  breach_in_seconds: number;
  /** breach_in_seconds at the slope interval's steep end and its gentle end (null: never). */
  interval_seconds: [number, number | null];
  slope_per_day: number;
  based_on_deployments: number;
  based_on_windows: number;
}

export type ForecastResult = { forecast: Forecast; reason: null } | { forecast: null; reason: string };

export interface ForecastInput {
  curve: DecayCurve;
  /** epoch ms */
  deployment_date: number;
  /** The deployment's recorded baseline for the metric, if any. */
  baseline: number | null;
  /** The deployment's own judged windows, oldest first: their first few stand in for a baseline. */
  windows: readonly DecayWindow[];
  /** The threshold it is judged against (the target, or the learned threshold). */
  threshold: number;
  /** epoch ms */
  now: number;
}

/** Judged windows whose mean stands in for a missing baseline. */
export const BASELINE_WINDOWS = 3;

/**
 * Where a forecast's crossing falls, in absolute times (epoch ms): what a sweep keeps on the
 * deployment, so that a view reads how far away it is at its own now without refitting.
 */
export interface ForecastCrossing {
  metric: string;
  /** When the curve crosses the threshold. */
  breach_at: number;
  /** The crossing at the slope interval's steep end: the earliest. */
  low_at: number;
  /** The crossing at its gentle end: the latest; null when that end does not decay (never). */
  high_at: number | null;
  slope_per_day: number;
  based_on_deployments: number;
  based_on_windows: number;
}

export type CrossingResult =
  | { crossing: ForecastCrossing; reason: null }
  | { crossing: null; reason: string };

/** The latest time a crossing is placed at: JavaScript's last date. */
const LAST_DATE_MS = 8.64e15;

/**
 * The deployment's forecast, or null with the reason: no decay (a slope of the wrong sign), a
 * start already past the target, a latest window already below it. Never NaN nor negative.
 */
export function forecastBreach(input: ForecastInput): ForecastResult {
  const result = forecastCrossing(input);
  return result.crossing
    ? { forecast: forecastAt(result.crossing, input.now), reason: null }
    : { forecast: null, reason: result.reason };
}

/** The crossing of `forecastBreach` in absolute times, or null with the reason. */
export function forecastCrossing(input: ForecastInput): CrossingResult {
  const { curve, threshold } = input;
  const sign = curve.direction === "higher" ? 1 : -1;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  const start = startLevel(input);
  if (start === null) return { crossing: null, reason: "no baseline and no judged window to start from yet" };
  if (!Number.isFinite(threshold)) return { crossing: null, reason: "no threshold to cross" };
  const margin = sign * (start - threshold);
  if (margin <= 0) {
    return {
      crossing: null,
      reason: `its starting ${curve.metric} ${round(start)} is already ${sign > 0 ? "below" : "above"} the threshold ${round(threshold)}`,
    };
  }
  const latest = input.windows.at(-1);
  if (latest && sign * (latest.mean - threshold) < 0) {
    return {
      crossing: null,
      reason: `its latest judged window (${round(latest.mean)}) is already past the threshold ${round(threshold)}`,
    };
  }
  // Goodness: the metric turned so that higher is better, and its slope interval with it.
  const good = sign * curve.slope_per_day;
  const [steep, gentle] =
    sign > 0 ? curve.interval_per_day : [-curve.interval_per_day[1], -curve.interval_per_day[0]];
  if (!(good < 0)) {
    return {
      crossing: null,
      reason: `${curve.metric} does not decay with age (${formatSlope(curve.slope_per_day)} a day), so no crossing is forecast`,
    };
  }
  const crossingAt = (slope: number) => {
    // Whole milliseconds: a sweep keeps the crossing, and finds it unchanged by its text.
    const at = slope < 0 ? Math.round(input.deployment_date + (margin / -slope) * DAY_MS) : Number.NaN;
    return Number.isFinite(at) && at <= LAST_DATE_MS ? at : null;
  };
  const at = crossingAt(good);
  if (at === null) {
    return { crossing: null, reason: `${curve.metric} decays too slowly for a crossing to be forecast` };
  }
  return {
    crossing: {
      metric: curve.metric,
      breach_at: at,
      low_at: Math.min(crossingAt(Math.min(steep, good)) ?? at, at),
      high_at: ((high) => (high === null ? null : Math.max(high, at)))(crossingAt(Math.max(gentle, good))),
      slope_per_day: curve.slope_per_day,
      based_on_deployments: curve.based_on_deployments,
      based_on_windows: curve.based_on_windows,
    },
    reason: null,
  };
}

/**
 * A crossing as seen at `now`: how long until it, and its interval, in seconds (0 once past by
 * the curve, never negative); the interval always holds the crossing itself.
 */
export function forecastAt(crossing: ForecastCrossing, now: number): Forecast {
  const until = (ms: number) => Math.max(0, Math.round((ms - now) / 1000));
  const breachIn = until(crossing.breach_at);
  return {
    metric: crossing.metric,
    breach_at: new Date(crossing.breach_at).toISOString(),
    breach_in_seconds: breachIn,
    interval_seconds: [
      Math.min(until(crossing.low_at), breachIn),
      crossing.high_at === null ? null : Math.max(until(crossing.high_at), breachIn),
    ],
    slope_per_day: crossing.slope_per_day,
    based_on_deployments: crossing.based_on_deployments,
    based_on_windows: crossing.based_on_windows,
  };
}

/**
 * The level at age 0: the baseline, else the mean of the first judged windows taken back along
 * the curve from their mean age to the deployment date (their mean stands at that age, not at 0:
 * three daily windows would otherwise start the forecast a day and a half late).
 */
function startLevel(input: ForecastInput): number | null {
  if (input.baseline !== null && Number.isFinite(input.baseline)) return input.baseline;
  const first = input.windows.slice(0, BASELINE_WINDOWS).filter((w) => Number.isFinite(w.mean));
  if (first.length === 0) return null;
  const mean = first.reduce((sum, w) => sum + w.mean, 0) / first.length;
  const ageDays =
    first.reduce((sum, w) => sum + Math.max(0, (w.start + w.end) / 2 - input.deployment_date), 0) /
    first.length /
    DAY_MS;
  const level = mean - input.curve.slope_per_day * ageDays;
  return Number.isFinite(level) ? level : mean;
}

/** A slope per day in a few significant digits, signed: "−0.0021", "+0.0004". */
export function formatSlope(slope: number): string {
  const text = Math.abs(slope)
    .toPrecision(2)
    .replace(/\.?0+e/, "e");
  return `${slope < 0 ? "−" : "+"}${Number(text)}`;
}

/** How long until the crossing, for people: "in ~26d", "past by the curve". */
export function describeForecast(forecast: Forecast): string {
  return forecast.breach_in_seconds === 0
    ? `${forecast.metric} crosses its threshold now by the curve`
    : `${forecast.metric} crosses its threshold in ~${formatDuration(forecast.breach_in_seconds)}`;
}
