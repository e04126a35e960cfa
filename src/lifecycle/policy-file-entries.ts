import type { z } from "zod";
import { parseDuration } from "../core/duration.js";
import type { PerformancePolicy } from "../core/performance.js";
import {
  DEFAULT_DRIFT_POLICY,
  DEFAULT_TTL_SUGGESTION,
  type Policy,
  type TtlSuggestionPolicy,
} from "../core/policy.js";
import type { Performance, WrittenAges } from "./policy-file-schema.js";
import { autoOf } from "./policy-file-ttl.js";

/**
 * A policy as a policy file writes it, made a Policy: durations in seconds, and what it leaves
 * out taken from the defaults (`defaults`), or from the built-in ones for the defaults themselves.
 */
export function toPolicy(
  name: string,
  match: Policy["match"],
  ages: WrittenAges,
  defaults: Policy | undefined,
  exempt = false,
  reason?: string,
): Policy {
  const seconds = (text: string | undefined) => (text === undefined ? undefined : parseDuration(text));
  const inherited = defaults?.ttl_suggestion ?? DEFAULT_TTL_SUGGESTION;
  const ttl_suggestion: TtlSuggestionPolicy = {
    lead_time_seconds: seconds(ages.lead_time) ?? inherited.lead_time_seconds,
    min_suggested_seconds: seconds(ages.min_suggested) ?? inherited.min_suggested_seconds,
    max_suggested_seconds: seconds(ages.max_suggested) ?? inherited.max_suggested_seconds,
  };
  const fixed =
    typeof ages.max_age === "string" && ages.max_age !== "auto" ? seconds(ages.max_age) : undefined;
  const max_age_auto =
    ages.max_age === undefined
      ? (defaults?.max_age_auto ?? null)
      : autoOf(ages.max_age, ttl_suggestion, defaults);
  return {
    name,
    match,
    max_age_seconds: max_age_auto?.fallback_seconds ?? fixed ?? defaults?.max_age_seconds ?? 90 * 86_400,
    max_age_auto,
    ttl_suggestion,
    review_at: ages.review_at ?? defaults?.review_at ?? 0.8,
    max_data_age_seconds: seconds(ages.max_data_age) ?? defaults?.max_data_age_seconds ?? null,
    silence_after_seconds: seconds(ages.silence_after) ?? defaults?.silence_after_seconds ?? null,
    exempt,
    reason: reason ?? null,
    expire_action: ages.expire_action ?? defaults?.expire_action ?? "review",
    repeat_interval_seconds: seconds(ages.repeat_interval) ?? defaults?.repeat_interval_seconds ?? 86_400,
    performance: ages.performance ? toPerformance(ages.performance) : (defaults?.performance ?? null),
    drift: ages.drift
      ? {
          window_seconds: parseDuration(ages.drift.window) ?? 86_400,
          features: ages.drift.features ?? null,
          method: ages.drift.method ?? null,
          drift_share: ages.drift.drift_share,
          max_features: ages.drift.max_features,
        }
      : (defaults?.drift ?? DEFAULT_DRIFT_POLICY),
    guardrail: ages.guardrail
      ? {
          error_rate: ages.guardrail.error_rate,
          bake_seconds: parseDuration(ages.guardrail.bake) ?? 3600,
          min_requests: ages.guardrail.min_requests,
        }
      : (defaults?.guardrail ?? null),
    notify: ages.notify ?? defaults?.notify ?? {},
  };
}

function toPerformance(p: z.infer<typeof Performance>): PerformancePolicy {
  return {
    metric: p.metric,
    target: p.target ?? null,
    direction: p.direction,
    window_seconds: parseDuration(p.window) ?? 86_400,
    min_samples: p.min_samples,
    label_delay_seconds: p.label_delay === undefined ? 0 : (parseDuration(p.label_delay) ?? 0),
    clear_after: p.clear_after,
    reference_windows: p.reference_windows,
  };
}
