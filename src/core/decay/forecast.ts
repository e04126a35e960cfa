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
 * The deployment's forecast, or null with the reason: no decay (a slope of the wrong sign), a
 * start already past the target, a latest window already below it. Never NaN nor negative.
 */
export function forecastBreach(input: ForecastInput): ForecastResult {
  const { curve, threshold, now } = input;
  const sign = curve.direction === "higher" ? 1 : -1;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  const start = startLevel(input);
  if (start === null) return { forecast: null, reason: "no baseline and no judged window to start from yet" };
  if (!Number.isFinite(threshold)) return { forecast: null, reason: "no threshold to cross" };
  const margin = sign * (start - threshold);
  if (margin <= 0) {
    return {
      forecast: null,
      reason: `its starting ${curve.metric} ${round(start)} is already ${sign > 0 ? "below" : "above"} the threshold ${round(threshold)}`,
    };
  }
  const latest = input.windows.at(-1);
  if (latest && sign * (latest.mean - threshold) < 0) {
    return {
      forecast: null,
      reason: `its latest judged window (${round(latest.mean)}) is already past the threshold ${round(threshold)}`,
    };
  }
  // Goodness: the metric turned so that higher is better, and its slope interval with it.
  const good = sign * curve.slope_per_day;
  const [steep, gentle] =
    sign > 0 ? curve.interval_per_day : [-curve.interval_per_day[1], -curve.interval_per_day[0]];
  if (!(good < 0)) {
    return {
      forecast: null,
      reason: `${curve.metric} does not decay with age (${formatSlope(curve.slope_per_day)} a day), so no crossing is forecast`,
    };
  }
  const crossing = (slope: number) => (slope < 0 ? (margin / -slope) * DAY_MS : null);
  const at = input.deployment_date + (crossing(good) as number);
  const until = (ms: number | null) =>
    ms === null ? null : Math.max(0, Math.round((input.deployment_date + ms - now) / 1000));
  const breachIn = Math.max(0, Math.round((at - now) / 1000));
  const earliest = until(crossing(Math.min(steep, good))) ?? breachIn;
  const latestEnd = until(crossing(Math.max(gentle, good)));
  if (!Number.isFinite(at) || at > 8.64e15) {
    return { forecast: null, reason: `${curve.metric} decays too slowly for a crossing to be forecast` };
  }
  return {
    forecast: {
      metric: curve.metric,
      breach_at: new Date(at).toISOString(),
      breach_in_seconds: breachIn,
      interval_seconds: [
        Math.min(earliest, breachIn),
        latestEnd === null ? null : Math.max(latestEnd, breachIn),
      ],
      slope_per_day: curve.slope_per_day,
      based_on_deployments: curve.based_on_deployments,
      based_on_windows: curve.based_on_windows,
    },
    reason: null,
  };
}

function startLevel(input: ForecastInput): number | null {
  if (input.baseline !== null && Number.isFinite(input.baseline)) return input.baseline;
  const first = input.windows.slice(0, BASELINE_WINDOWS).filter((w) => Number.isFinite(w.mean));
  if (first.length === 0) return null;
  return first.reduce((sum, w) => sum + w.mean, 0) / first.length;
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
