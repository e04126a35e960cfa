import { formatDuration, parseDuration } from "../core/duration.js";
import type { AutoMaxAge, Policy, TtlSuggestionPolicy } from "../core/policy.js";

/** A policy file's `max_age: auto` and the bounds of its TTL suggestions (see policy-file.ts). */

/**
 * The bounds of `max_age: auto`: those written, else the suggestion's own; the fallback written,
 * else the defaults' TTL (90d when the defaults are `auto` too).
 */
export function autoOf(
  maxAge: string | { auto: { min?: string; max?: string; fallback?: string } },
  suggestion: TtlSuggestionPolicy,
  defaults: Policy | undefined,
): AutoMaxAge | null {
  if (typeof maxAge === "string" && maxAge !== "auto") return null;
  const written = typeof maxAge === "string" ? {} : maxAge.auto;
  const seconds = (text: string | undefined) => (text === undefined ? undefined : parseDuration(text));
  return {
    min_seconds: seconds(written.min) ?? suggestion.min_suggested_seconds,
    max_seconds: seconds(written.max) ?? suggestion.max_suggested_seconds,
    fallback_seconds: seconds(written.fallback) ?? defaults?.max_age_seconds ?? 90 * 86_400,
  };
}

/** A policy whose bounds contradict each other (min above max), where each is written. */
export function boundsErrors(
  policy: Policy,
  at: (string | number)[],
): { path: (string | number)[]; message: string }[] {
  const errors: { path: (string | number)[]; message: string }[] = [];
  const { min_suggested_seconds: min, max_suggested_seconds: max } = policy.ttl_suggestion;
  if (min > max) {
    errors.push({
      path: [...at, "min_suggested"],
      message: `min_suggested (${formatDuration(min)}) must be at most max_suggested (${formatDuration(max)})`,
    });
  }
  const auto = policy.max_age_auto;
  if (auto && auto.min_seconds > auto.max_seconds) {
    errors.push({
      path: [...at, "max_age", "auto", "min"],
      message: `max_age auto: min (${formatDuration(auto.min_seconds)}) must be at most max (${formatDuration(auto.max_seconds)})`,
    });
  }
  return errors;
}
