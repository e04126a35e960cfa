import { formatDuration } from "../duration.js";
import type { Finding } from "../finding.js";
import { type ForecastCrossing, forecastAt, formatSlope } from "./forecast.js";

/**
 * The `forecast_breach` finding: the earliest crossing the forecast allows (the low end of its
 * interval) falls before the deployment's next review point. Acting on it means retraining
 * before the breach, not after: a review at the due date would come too late.
 */

/** A warning: nothing is wrong yet, but the next review comes after the earliest crossing. */
export const FORECAST_BREACH_SEVERITY = "warning";

/**
 * The next review point at `at` (epoch ms): the due date while the deployment is fresh, its expiry
 * while due; none once expired (the `expired` finding speaks then) or under an exempt policy,
 * which is never reviewed for its age.
 */
export function nextReviewPoint(
  dates: { due_at: number; expires_at: number },
  exempt: boolean,
  at: number,
): { at: number; kind: "due" | "expiry" } | null {
  if (exempt) return null;
  if (at < dates.due_at) return { at: dates.due_at, kind: "due" };
  if (at < dates.expires_at) return { at: dates.expires_at, kind: "expiry" };
  return null;
}

export interface ForecastBreachInput {
  /** `fraud-gbm 3.2.0 in production` */
  name: string;
  crossing: ForecastCrossing;
  threshold: number;
  review: { at: number; kind: "due" | "expiry" } | null;
  policy: string;
}

/** The finding when the crossing's low end falls before the next review point, else undefined. */
export function forecastBreachFinding(input: ForecastBreachInput, at: number): Finding | undefined {
  const { crossing, review } = input;
  if (review === null || !(crossing.low_at < review.at)) return undefined;
  const forecast = forecastAt(crossing, at);
  const [low, high] = forecast.interval_seconds;
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  const span = `${formatDuration(low)}–${high === null ? "never" : formatDuration(high)}`;
  const reviewIn = formatDuration(Math.max(0, Math.round((review.at - at) / 1000)));
  const reviewWord = review.kind === "due" ? "review point" : "expiry";
  return {
    kind: "forecast_breach",
    severity: FORECAST_BREACH_SEVERITY,
    summary: `${input.name} is forecast to cross its ${crossing.metric} threshold ${round(input.threshold)} in ~${formatDuration(forecast.breach_in_seconds)} (${span}), before its ${reviewWord} in ${reviewIn}`,
    detail: {
      ...forecast,
      threshold: round(input.threshold),
      review_point: new Date(review.at).toISOString(),
      policy: input.policy,
      reason: `its model's ${crossing.metric} moves ${formatSlope(crossing.slope_per_day)} a day of age (${crossing.based_on_deployments} deployments, ${crossing.based_on_windows} judged windows), so it crosses ${round(input.threshold)} in ~${formatDuration(forecast.breach_in_seconds)} and at the earliest in ${formatDuration(low)}, before its ${reviewWord} in ${reviewIn}`,
    },
  };
}
