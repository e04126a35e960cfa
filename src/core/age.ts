import type { Forecast } from "./decay/forecast.js";
import { formatDuration } from "./duration.js";

/** The part of a policy that decides deployment age stages. */
export interface AgePolicy {
  name: string;
  /** TTL: the deployment age, in seconds, at which a deployment is expired. */
  max_age_seconds: number;
  /** The fraction of the TTL at which a deployment becomes due for review. */
  review_at: number;
  /** An exempt policy's deployments are stable by nature: views show it, sweeps raise no age finding. */
  exempt?: boolean;
}

/** Without a policy file, every deployment is judged by this one: 90 days, review at 80%. */
export const DEFAULT_POLICY: AgePolicy = {
  name: "default",
  max_age_seconds: 90 * 86_400,
  review_at: 0.8,
};

export type AgeStage = "fresh" | "due" | "expired";

export const AGE_STAGES = ["fresh", "due", "expired"] as const;

/** What the age computation needs of a deployment; times are epoch milliseconds. */
export interface AgeInput {
  deployment_date: number;
  training_data_cutoff: number;
  /** When the deployment ended, or null while it is live. */
  ended_at: number | null;
  /** Seconds added to the TTL of this one deployment by reviews. */
  ttl_extension_seconds: number;
  /**
   * Since when it has held its performance target, as the last sweep found; null while its
   * latest judged window is below target (state `degraded`) and without metrics.
   */
  performance_ok_since?: number | null;
  /** The last sweep's performance state: tells a degraded deployment (age 0) from one without metrics. */
  performance_state?: string | null;
}

export interface AgeBlock {
  deployment_age_seconds: number;
  data_age_seconds: number;
  performance_age_seconds: number | null;
  ttl_seconds: number;
  ttl_fraction: number;
  /** Null once the deployment has ended: only live deployments are due or expired. */
  stage: AgeStage | null;
  /** 0–100 for a live deployment (see computeHealth); null once it has ended. */
  health_score: number | null;
  /** keep, review, retrain or retire, for a live deployment; null once it has ended. */
  verdict: "keep" | "review" | "retrain" | "retire" | null;
  policy: string;
  exempt: boolean;
  /**
   * When its model's decay curve says it crosses its performance threshold, as the last sweep
   * forecast it (see core/decay/forecast-block.ts); null with `forecast_reason` saying why.
   */
  forecast: Forecast | null;
  forecast_reason: string | null;
}

/**
 * Computes the age block of a deployment at `now` (epoch ms).
 * An ended deployment's clocks stop at its end: its deployment age is how long it served.
 */
export function computeAge(input: AgeInput, policy: AgePolicy, now: number): AgeBlock {
  const clock = input.ended_at ?? now;
  const deploymentAge = Math.max(0, Math.floor((clock - input.deployment_date) / 1000));
  const dataAge = Math.max(0, Math.floor((clock - input.training_data_cutoff) / 1000));
  const ttl = policy.max_age_seconds + input.ttl_extension_seconds;
  return {
    deployment_age_seconds: deploymentAge,
    data_age_seconds: dataAge,
    performance_age_seconds: performanceAge(input, clock),
    ttl_seconds: ttl,
    ttl_fraction: Math.round((deploymentAge / ttl) * 10_000) / 10_000,
    stage: input.ended_at === null ? stageOf(deploymentAge, ttl, policy.review_at) : null,
    health_score: null,
    verdict: null,
    policy: policy.name,
    exempt: policy.exempt ?? false,
    forecast: null,
    forecast_reason: null,
  };
}

/**
 * Seconds since the end of the last window below target; 0 while the latest judged window is
 * below, at any clock (it does not count up between sweeps); null without a judgement. Never
 * more than the deployment age: its first window may start before it was deployed (windows are
 * aligned to the day), but it cannot have held its target longer than it has served.
 */
function performanceAge(input: AgeInput, clock: number): number | null {
  const since = input.performance_ok_since;
  if (since !== null && since !== undefined) {
    return Math.max(0, Math.floor((clock - Math.max(since, input.deployment_date)) / 1000));
  }
  return input.performance_state === "degraded" ? 0 : null;
}

/** The stage of a deployment age against a TTL with its review point. */
export function stageOf(deploymentAgeSeconds: number, ttlSeconds: number, reviewAt: number): AgeStage {
  if (deploymentAgeSeconds >= ttlSeconds) return "expired";
  if (deploymentAgeSeconds >= ttlSeconds * reviewAt) return "due";
  return "fresh";
}

/**
 * The deployment dates (epoch ms) that bound a stage at `now` for deployments without extensions:
 * a deployment is in the stage when `newest_date_exclusive > deployment_date >= oldest_date`
 * (either bound may be absent). Lets a store filter by stage with an index range instead of a scan.
 */
export function stageDateRange(
  stage: AgeStage,
  policy: AgePolicy,
  now: number,
): { deployed_before?: number; deployed_at_or_after?: number } {
  const dueAfterMs = Math.ceil(policy.max_age_seconds * policy.review_at) * 1000;
  const expiredAfterMs = policy.max_age_seconds * 1000;
  switch (stage) {
    case "fresh":
      return { deployed_at_or_after: now - dueAfterMs + 1 };
    case "due":
      return { deployed_before: now - dueAfterMs + 1, deployed_at_or_after: now - expiredAfterMs + 1 };
    case "expired":
      return { deployed_before: now - expiredAfterMs + 1 };
  }
}

/** A short human summary of an age against a TTL: `41d of 90d (46%)`. */
export function describeAge(age: AgeBlock): string {
  const percent = Math.round(age.ttl_fraction * 100);
  return `${formatDuration(age.deployment_age_seconds)} of ${formatDuration(age.ttl_seconds)} (${percent}%)`;
}
