/** What the health score weighs, as of now and the last sweep. */
export interface HealthInput {
  /** Deployment age over TTL (1 = expired). */
  ttl_fraction: number;
  review_at: number;
  data_age_seconds: number;
  max_data_age_seconds: number | null;
  /** The last sweep's judgement of the performance target; null without metrics. */
  performance_state: "ok" | "degraded" | "insufficient_data" | null;
  /** How far the latest judged window fell below the baseline, relative (0.05 = 5% worse); 0 when not. */
  performance_drop: number;
  /** The last drift verdict; null without drift monitoring. */
  drift_state: "stable" | "possible" | "drifted" | null;
  /** Age findings are off for this deployment (an exempt policy). */
  exempt: boolean;
}

export type Verdict = "keep" | "review" | "retrain" | "retire";

export interface Health {
  /** 0–100: 100 is a fresh deployment on target with stable inputs. */
  score: number;
  verdict: Verdict;
  /** Each clock's penalty, 0 (none) to 1 (all it can take), so a reader sees why. */
  penalties: { age: number; data: number; performance: number; drift: number };
}

/**
 * How much each clock can take off the score at most. Performance and drift weigh most: they are
 * evidence that the model is wrong now; age and data age are proxies for that risk.
 */
export const HEALTH_WEIGHTS = { age: 0.35, data: 0.2, performance: 0.6, drift: 0.5 } as const;

/** A penalty that is 0 until `start`, ½ at `full`, and 1 at twice `full`: it never falls as x grows. */
function ramp(x: number, start: number, full: number): number {
  if (x <= start) return 0;
  if (x <= full) return (0.5 * (x - start)) / Math.max(full - start, Number.EPSILON);
  return Math.min(1, 0.5 + (0.5 * (x - full)) / full);
}

/**
 * The health score and the verdict. Each clock gives a penalty in [0, 1], non-decreasing in
 * what makes a model worse (age, data age, performance drop, drift); the score is
 * 100 × Π(1 − weight × penalty), so no one clock can hide another and each can only lower it.
 * See docs/HEALTH.md for the reasons behind each number.
 */
export function computeHealth(input: HealthInput): Health {
  const age = input.exempt ? 0 : ramp(input.ttl_fraction, input.review_at, 1);
  const dataLimit = input.max_data_age_seconds ?? 365 * 86_400;
  const data = input.exempt ? 0 : ramp(input.data_age_seconds / dataLimit, 0.8, 1);
  const degraded = input.performance_state === "degraded";
  const performance = Math.min(1, (degraded ? 0.5 : 0) + 5 * Math.max(0, input.performance_drop));
  const drift = input.drift_state === "drifted" ? 1 : input.drift_state === "possible" ? 0.3 : 0;
  const penalties = { age, data, performance, drift };
  // The product in the order of HEALTH_WEIGHTS' keys, spelled out: every listed deployment pays it.
  const kept =
    (1 - HEALTH_WEIGHTS.age * age) *
    (1 - HEALTH_WEIGHTS.data * data) *
    (1 - HEALTH_WEIGHTS.performance * performance) *
    (1 - HEALTH_WEIGHTS.drift * drift);
  return { score: Math.round(kept * 1000) / 10, verdict: verdictOf(input), penalties };
}

/**
 * Age asks for a review; evidence asks for action. A stale deployment (below target, drifted, or
 * trained on data older than its policy allows) needs retraining; one that is also expired
 * should make way (retire, to the golden version or a successor). An expired deployment on
 * target with stable inputs gets a review, not retirement.
 */
function verdictOf(input: HealthInput): Verdict {
  const stale =
    input.performance_state === "degraded" ||
    input.drift_state === "drifted" ||
    (!input.exempt &&
      input.max_data_age_seconds !== null &&
      input.data_age_seconds >= input.max_data_age_seconds);
  const expired = !input.exempt && input.ttl_fraction >= 1;
  const due = !input.exempt && input.ttl_fraction >= input.review_at;
  if (stale && expired) return "retire";
  if (stale) return "retrain";
  if (due || input.drift_state === "possible") return "review";
  return "keep";
}
