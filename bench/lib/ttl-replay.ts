/**
 * The replay behind `npm run bench -- ttl`: synthetic models whose truth is known (how each
 * version's metric moves with its age), served for a year of daily sweeps under two policies —
 * a fixed TTL, and the TTL each model's own decay curve suggests (`max_age: auto` with the fixed
 * TTL as its fallback) — with the same decisions Tenure's sweep makes: judged windows past the
 * label delay, the curve pooled across versions (src/core/decay), the suggested TTL, and a
 * forecast of each version's crossing a week into its service.
 *
 * A version past its TTL is retrained: the retrain takes the lead time, during which the old
 * version keeps serving, then the new one starts at age 0 (each version of a model decays as
 * its truth says, from a start level a little different each time).
 */
import { type DeploymentHistory, fitDecayCurve } from "../../dist/core/decay/decay-curve.js";
import { forecastBreach } from "../../dist/core/decay/forecast.js";
import { suggestTtl } from "../../dist/core/decay/suggest-ttl.js";
import { seededNormal, seededRandom } from "../../dist/core/reservoir.js";

const DAY_MS = 86_400_000;
const DAY = 86_400;

/** What a model's metric truly is at a version's age (in days), before noise. */
export interface ModelTruth {
  name: string;
  kind: string;
  direction: "higher" | "lower";
  target: number;
  start: number;
  /** Change per day of age. */
  slope: number;
  /** A step change at an age: the metric moves by `by` from then on. */
  step?: { at_day: number; by: number };
  /** The standard deviation of one daily window's mean around the truth. */
  noise: number;
  /** The share of daily windows that never arrive (or have too few samples to judge). */
  missing: number;
}

export interface ReplayOptions {
  days: number;
  fixed_ttl_days: number;
  lead_time_days: number;
  label_delay_days: number;
  /** The forecast judged against the truth is the one made at this age. */
  forecast_at_day: number;
  seed: number;
}

export const DEFAULT_REPLAY: ReplayOptions = {
  days: 365,
  fixed_ttl_days: 90,
  lead_time_days: 7,
  label_delay_days: 1,
  forecast_at_day: 7,
  seed: 20261207,
};

export interface ForecastCheck {
  model: string;
  version: number;
  true_crossing_days: number;
  predicted_crossing_days: number;
  relative_error: number;
}

/**
 * `fixed`: retrain at the fixed TTL. `learned`: at the TTL the model's curve suggests, the fixed
 * TTL where it has none. `fixed+degraded`: the fixed TTL, and also as soon as a judged window is
 * below target (a team answering Tenure's `degraded` alert), and `learned+degraded` likewise:
 * context for the two the issue compares, as Tenure runs both the TTL and the alert. `oracle`:
 * knows each version's true crossing from its first day and retrains so the successor is live
 * the day it crosses (within the learned policy's 365-day cap): the fewest retrains with which a
 * fleet serves no day below target — a bound, not a policy anyone can run.
 */
export type ReplayPolicy = "fixed" | "learned" | "fixed+degraded" | "learned+degraded" | "oracle";

export const REPLAY_POLICIES: readonly ReplayPolicy[] = [
  "fixed",
  "learned",
  "fixed+degraded",
  "learned+degraded",
  "oracle",
];

/** The oracle's cap on a TTL, as `max_suggested`'s default caps a learned one. */
const ORACLE_MAX_TTL_DAYS = 365;

export interface PolicyOutcome {
  policy: ReplayPolicy;
  model: string;
  kind: string;
  days_below_target: number;
  retrains: number;
  versions: number;
  /** The TTL in force on the last day, in days. */
  last_ttl_days: number;
  forecasts: ForecastCheck[];
}

/** The true metric of a version of `m` started at `start`, at `age` days. */
export function truthAt(m: ModelTruth, start: number, age: number): number {
  return start + m.slope * age + (m.step && age >= m.step.at_day ? m.step.by : 0);
}

/** The age (days) at which the truth crosses the target, or null if it never does within 10 years. */
export function trueCrossing(m: ModelTruth, start: number): number | null {
  const sign = m.direction === "higher" ? 1 : -1;
  const margin = sign * (start - m.target);
  if (margin <= 0) return 0;
  let linear = sign * m.slope < 0 ? margin / -(sign * m.slope) : Number.POSITIVE_INFINITY;
  if (m.step && sign * (truthAt(m, start, m.step.at_day) - m.target) < 0)
    linear = Math.min(linear, m.step.at_day);
  return linear <= 3650 ? linear : null;
}

interface Version {
  number: number;
  deployed_day: number;
  start: number;
  windows: { day: number; mean: number }[];
}

/** Serves one model for `days` days under one policy. */
export function replayModel(
  m: ModelTruth,
  policy: ReplayPolicy,
  o: ReplayOptions,
  seed: number,
): PolicyOutcome {
  // The same seed for both policies: the same noise and missing windows at the same days.
  const noise = seededNormal(seed);
  const uniform = seededRandom(seed + 1);
  const starts = seededNormal(seed + 2);
  const versions: Version[] = [];
  const deploy = (day: number) => {
    const start = m.start + 0.005 * starts() * Math.abs(m.target - m.start);
    versions.push({ number: versions.length + 1, deployed_day: day, start, windows: [] });
  };
  deploy(0);
  let retrainReadyDay: number | null = null;
  let belowDays = 0;
  let retrains = 0;
  let ttlDays = o.fixed_ttl_days;
  const forecasts: ForecastCheck[] = [];
  for (let day = 0; day < o.days; day++) {
    if (retrainReadyDay === day) {
      deploy(day);
      retrainReadyDay = null;
    }
    const live = versions.at(-1) as Version;
    const age = day - live.deployed_day;
    // The day served: below target by the truth, and its window as monitoring sees it.
    const level = truthAt(m, live.start, age + 0.5);
    if ((m.direction === "higher" ? 1 : -1) * (level - m.target) < 0) belowDays++;
    const drawn = level + m.noise * noise();
    if (uniform() >= m.missing) live.windows.push({ day, mean: drawn });
    // The sweep at the end of the day: windows past the label delay are judged.
    const now = (day + 1) * DAY_MS;
    const judgedBefore = day + 1 - o.label_delay_days;
    const histories: DeploymentHistory[] = versions.map((v) => ({
      deployment_id: v.number,
      model_version: `v${v.number}`,
      deployment_date: v.deployed_day * DAY_MS,
      windows: v.windows
        .filter((w) => w.day + 1 <= judgedBefore)
        .map((w) => ({ start: w.day * DAY_MS, end: (w.day + 1) * DAY_MS, mean: w.mean })),
    }));
    if (policy === "learned" || policy === "learned+degraded") {
      const fit = fitDecayCurve("metric", m.direction, histories);
      ttlDays = fit.curve
        ? suggestTtl(fit.curve, m.target, o.fixed_ttl_days * DAY, {
            label_delay_seconds: o.label_delay_days * DAY,
            lead_time_seconds: o.lead_time_days * DAY,
          }).suggested_max_age_seconds / DAY
        : o.fixed_ttl_days;
      if (age + 1 === o.forecast_at_day && fit.curve) {
        const truth = trueCrossing(m, live.start);
        const own = histories.at(-1) as DeploymentHistory;
        const result = forecastBreach({
          curve: fit.curve,
          deployment_date: own.deployment_date,
          baseline: null,
          windows: own.windows,
          threshold: m.target,
          now,
        });
        if (truth !== null && truth > 0 && result.forecast) {
          const predicted = (Date.parse(result.forecast.breach_at) - own.deployment_date) / DAY_MS;
          forecasts.push({
            model: m.name,
            version: live.number,
            true_crossing_days: truth,
            predicted_crossing_days: predicted,
            relative_error: Math.abs(predicted - truth) / truth,
          });
        }
      }
    }
    if (policy === "oracle") {
      const crossing = trueCrossing(m, live.start) ?? Number.POSITIVE_INFINITY;
      ttlDays = Math.min(ORACLE_MAX_TTL_DAYS, Math.max(0, Math.floor(crossing) - o.lead_time_days));
    }
    const judged = (histories.at(-1) as DeploymentHistory).windows.at(-1);
    const degraded =
      policy.endsWith("+degraded") &&
      judged !== undefined &&
      (m.direction === "higher" ? 1 : -1) * (judged.mean - m.target) < 0;
    if (retrainReadyDay === null && (age + 1 >= ttlDays || degraded)) {
      retrains++;
      retrainReadyDay = day + 1 + o.lead_time_days;
    }
  }
  return {
    policy,
    model: m.name,
    kind: m.kind,
    days_below_target: belowDays,
    retrains,
    versions: versions.length,
    last_ttl_days: ttlDays,
    forecasts,
  };
}

/**
 * The synthetic fleet: models that decay linearly at different rates (fast, medium, slow, one
 * judged by a metric where lower is better), one that steps down, ones that never decay, a
 * noisy one and a sparse one. Every model starts above its target.
 */
export const SYNTHETIC_FLEET: ModelTruth[] = [
  {
    name: "churn-fast",
    kind: "linear, fast",
    direction: "higher",
    target: 0.85,
    start: 0.92,
    slope: -0.0025,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "fraud-fast",
    kind: "linear, fast",
    direction: "higher",
    target: 0.85,
    start: 0.9,
    slope: -0.0018,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "ranker-medium",
    kind: "linear, medium",
    direction: "higher",
    target: 0.85,
    start: 0.93,
    slope: -0.001,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "eta-rmse",
    kind: "linear, lower is better",
    direction: "lower",
    target: 1.2,
    start: 1.0,
    slope: 0.0025,
    noise: 0.02,
    missing: 0.1,
  },
  {
    name: "forecast-120d",
    kind: "linear, medium-slow",
    direction: "higher",
    target: 0.85,
    start: 0.91,
    slope: -0.0005,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "reco-180d",
    kind: "linear, medium-slow",
    direction: "higher",
    target: 0.85,
    start: 0.94,
    slope: -0.0005,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "ltv-slow",
    kind: "linear, slow",
    direction: "higher",
    target: 0.85,
    start: 0.92,
    slope: -0.0003,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "credit-slow",
    kind: "linear, slow",
    direction: "higher",
    target: 0.85,
    start: 0.94,
    slope: -0.0002,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "pricing-step",
    kind: "steps down at 45d",
    direction: "higher",
    target: 0.85,
    start: 0.92,
    slope: 0,
    step: { at_day: 45, by: -0.1 },
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "plant-stable",
    kind: "never decays",
    direction: "higher",
    target: 0.85,
    start: 0.91,
    slope: 0,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "ocr-stable",
    kind: "never decays",
    direction: "higher",
    target: 0.85,
    start: 0.95,
    slope: 0,
    noise: 0.008,
    missing: 0.1,
  },
  {
    name: "search-noisy",
    kind: "linear, noisy",
    direction: "higher",
    target: 0.85,
    start: 0.92,
    slope: -0.001,
    noise: 0.03,
    missing: 0.1,
  },
  {
    name: "ads-sparse",
    kind: "linear, half the windows missing",
    direction: "higher",
    target: 0.85,
    start: 0.9,
    slope: -0.0004,
    noise: 0.008,
    missing: 0.5,
  },
];

export interface ReplaySummary {
  policy: ReplayPolicy;
  days_below_target: number;
  retrains: number;
  median_forecast_error: number | null;
  forecasts: number;
}

/** Replays the fleet under both policies. */
export function replayFleet(
  fleet: readonly ModelTruth[],
  options: ReplayOptions,
): { outcomes: PolicyOutcome[]; summaries: ReplaySummary[] } {
  const outcomes: PolicyOutcome[] = [];
  fleet.forEach((m, i) => {
    for (const policy of REPLAY_POLICIES)
      outcomes.push(replayModel(m, policy, options, options.seed + i * 7));
  });
  const summaries = REPLAY_POLICIES.map((policy) => {
    const mine = outcomes.filter((o) => o.policy === policy);
    const errors = mine.flatMap((o) => o.forecasts.map((f) => f.relative_error)).sort((a, b) => a - b);
    const mid = errors.length >> 1;
    return {
      policy,
      days_below_target: mine.reduce((s, o) => s + o.days_below_target, 0),
      retrains: mine.reduce((s, o) => s + o.retrains, 0),
      median_forecast_error:
        errors.length === 0
          ? null
          : errors.length % 2
            ? (errors[mid] as number)
            : ((errors[mid - 1] as number) + (errors[mid] as number)) / 2,
      forecasts: errors.length,
    };
  });
  return { outcomes, summaries };
}
