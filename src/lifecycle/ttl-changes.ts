import { z } from "zod";
import type { TtlEvidence } from "../core/decay/suggest-ttl.js";
import { formatDuration } from "../core/duration.js";
import type { AutoMaxAge, Policy } from "../core/policy.js";
import type { NewEvent } from "../store/deployment-store.js";
import { parseStoredJson } from "../store/json-columns.js";
import type { AnnouncedTtl } from "../store/learned-ttl-store.js";

/** The event that tells a live deployment its `max_age: auto` TTL in force changed. */
export const LEARNED_TTL_CHANGED = "learned_ttl_changed";

/** The part of an evidence an event keeps: enough to read the change on its own. */
export interface EvidenceSummary {
  metric: string;
  threshold: number;
  slope_per_day: number;
  interval_per_day: [number, number];
  based_on_deployments: number;
  based_on_windows: number;
}

/** What an event keeps of a suggestion's evidence; null without a curve. */
export function summaryOf(evidence: TtlEvidence | null): EvidenceSummary | null {
  if (!evidence) return null;
  return {
    metric: evidence.metric,
    threshold: evidence.threshold,
    slope_per_day: evidence.slope_per_day,
    interval_per_day: evidence.interval_per_day,
    based_on_deployments: evidence.based_on_deployments,
    based_on_windows: evidence.based_on_windows,
  };
}

/** An `auto` policy's bounds as announced with its TTL (learned_ttls.announced_bounds). */
const BoundsSchema = z.object({
  min_seconds: z.number(),
  max_seconds: z.number(),
  fallback_seconds: z.number(),
}) satisfies z.ZodType<AutoMaxAge>;

/**
 * The announcement of a resolved `auto` policy's TTL in force at `at`: what learned_ttls keeps of
 * the last TTL its deployments were told of, so a later start or sweep can tell a difference.
 */
export function announcementOf(policy: Policy, at: number): AnnouncedTtl {
  return { ttl_seconds: policy.max_age_seconds, bounds: boundsOf(policy), at };
}

/** The bounds of an `auto` policy, as learned_ttls.announced_bounds keeps them ("" for a fixed one). */
export function boundsOf(policy: Policy): string {
  const auto = policy.max_age_auto;
  if (!auto) return "";
  return JSON.stringify({
    min_seconds: auto.min_seconds,
    max_seconds: auto.max_seconds,
    fallback_seconds: auto.fallback_seconds,
  });
}

/** Stored bounds read back; null when unknown (a row announced before migration 0021). */
export function parseBounds(text: string | null): AutoMaxAge | null {
  if (!text) return null;
  return parseStoredJson("learned_ttls.announced_bounds", BoundsSchema, text);
}

/**
 * The bounds that set a TTL and changed ("max 180d → 20d"): min and max for a learned TTL, the
 * fallback without one.
 */
export function boundsChanges(source: Policy["ttl_source"], was: AutoMaxAge, now: AutoMaxAge): string[] {
  const bounds: [string, number, number][] =
    source === "fallback"
      ? [["fallback", was.fallback_seconds, now.fallback_seconds]]
      : [
          ["min", was.min_seconds, now.min_seconds],
          ["max", was.max_seconds, now.max_seconds],
        ];
  return bounds
    .filter(([, a, b]) => a !== b)
    .map(([name, a, b]) => `${name} ${formatDuration(a)} → ${formatDuration(b)}`);
}

/** What a `learned_ttl_changed` event says: the policy, the TTL before and after, and why. */
export interface TtlChangeData {
  policy: string;
  from_seconds: number | null;
  to_seconds: number;
  source: NonNullable<Policy["ttl_source"]>;
  suggested_max_age_seconds: number | null;
  reason: string | null;
  evidence: EvidenceSummary | null;
}

/**
 * The `learned_ttl_changed` event of one deployment, whoever tells it: a sweep that learned a new
 * TTL, a reload whose bounds changed it, or a start that found it changed untold.
 */
export function ttlChangeEvent(
  deployment: { id: number; model: string; environment: string },
  told: { actor: string; at: number },
  data: TtlChangeData,
): NewEvent {
  return {
    deployment_id: deployment.id,
    model: deployment.model,
    environment: deployment.environment,
    type: LEARNED_TTL_CHANGED,
    actor: told.actor,
    at: told.at,
    data: { ...data },
  };
}
