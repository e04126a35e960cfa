import { formatDuration } from "../duration.js";
import type { DecayCurve } from "./decay-curve.js";

/**
 * The time-to-live a model's own decay suggests: the age at which its curve, started from the
 * model's level at age 0, crosses the threshold at the slope interval's steep end, less the
 * label delay (a breach is seen that late) and the lead time (a retrain takes that long),
 * rounded down to days and held within [min, max].
 */

const DAY = 86_400;

export interface SuggestOptions {
  /** The policy's label delay, in seconds: windows younger than it are not judged yet. */
  label_delay_seconds: number;
  /** How long a retrain takes (default 7d). */
  lead_time_seconds: number;
  /** The shortest TTL suggested (default 7d). */
  min_suggested_seconds: number;
  /** The longest TTL suggested, also what a model without measurable decay gets (default 365d). */
  max_suggested_seconds: number;
}

export const DEFAULT_SUGGEST_OPTIONS: Omit<SuggestOptions, "label_delay_seconds"> = {
  lead_time_seconds: 7 * DAY,
  min_suggested_seconds: 7 * DAY,
  max_suggested_seconds: 365 * DAY,
};

export interface TtlEvidence {
  metric: string;
  direction: "higher" | "lower";
  threshold: number;
  level_at_zero: number;
  slope_per_day: number;
  interval_per_day: [number, number];
  spread_per_day: [number, number];
  consistent: boolean;
  /** The crossing age at the interval's steep end, the slope itself and its gentle end (null: never). */
  crossing_age_seconds: [number | null, number | null, number | null];
  label_delay_seconds: number;
  lead_time_seconds: number;
  based_on_deployments: number;
  based_on_windows: number;
}

export interface TtlSuggestion {
  suggested_max_age_seconds: number;
  reason: string;
  evidence: TtlEvidence;
}

/** The suggestion for a model with a curve, judged against `threshold`. */
export function suggestTtl(
  curve: DecayCurve,
  threshold: number,
  current_max_age_seconds: number,
  options: Pick<SuggestOptions, "label_delay_seconds"> & Partial<SuggestOptions>,
): TtlSuggestion {
  const o = { ...DEFAULT_SUGGEST_OPTIONS, ...options };
  const min = Math.max(DAY, Math.min(o.min_suggested_seconds, o.max_suggested_seconds));
  const max = Math.max(min, o.max_suggested_seconds);
  const sign = curve.direction === "higher" ? 1 : -1;
  const margin = sign * (curve.intercept - threshold);
  const good = (slope: number) => sign * slope;
  const [steep, gentle] =
    sign > 0 ? curve.interval_per_day : [curve.interval_per_day[1], curve.interval_per_day[0]];
  const crossing = (slope: number): number | null => {
    if (margin <= 0) return 0;
    const g = good(slope);
    return g < 0 ? Math.round((margin / -g) * DAY) : null;
  };
  const ages: [number | null, number | null, number | null] = [
    crossing(steep),
    crossing(curve.slope_per_day),
    crossing(gentle),
  ];
  const evidence: TtlEvidence = {
    metric: curve.metric,
    direction: curve.direction,
    threshold,
    level_at_zero: curve.intercept,
    slope_per_day: curve.slope_per_day,
    interval_per_day: curve.interval_per_day,
    spread_per_day: curve.spread_per_day,
    consistent: curve.consistent,
    crossing_age_seconds: ages,
    label_delay_seconds: o.label_delay_seconds,
    lead_time_seconds: o.lead_time_seconds,
    based_on_deployments: curve.based_on_deployments,
    based_on_windows: curve.based_on_windows,
  };
  const earliest = ages[0];
  const raw = earliest === null ? max : earliest - o.label_delay_seconds - o.lead_time_seconds;
  const days = Math.floor(Math.max(0, raw) / DAY) * DAY;
  const suggested = Math.min(max, Math.max(min, days));
  const instead =
    suggested === current_max_age_seconds
      ? `keep ${formatDuration(suggested)}`
      : `suggest ${formatDuration(suggested)} instead of ${formatDuration(current_max_age_seconds)}`;
  const weekly = Math.abs(curve.slope_per_day * 7);
  const amount = Number(weekly.toPrecision(2));
  const moves =
    good(curve.slope_per_day) < 0
      ? `loses ${amount} ${curve.metric} a week`
      : good(curve.slope_per_day) > 0
        ? `gains ${amount} ${curve.metric} a week`
        : `holds its ${curve.metric}`;
  const round = (x: number) => Number(x.toPrecision(4));
  let reason: string;
  if (margin <= 0) {
    reason = `starts at ${round(curve.intercept)}, already past the threshold ${round(threshold)}; ${instead}`;
  } else if (earliest === null) {
    reason = `${moves}, no measurable decay; ${instead}`;
  } else {
    reason = `${moves}; crosses ${round(threshold)} after ~${formatDuration(ages[1] ?? earliest)} (${formatDuration(earliest)} at the steep end); ${instead}`;
  }
  return { suggested_max_age_seconds: suggested, reason, evidence };
}
