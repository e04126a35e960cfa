import { z } from "zod";
import type { TtlEvidence } from "../core/decay/suggest-ttl.js";
import { isoTime as iso } from "../core/iso-time.js";
import type { Policy } from "../core/policy.js";
import { parseJsonColumn, parseStoredJson } from "../store/json-columns.js";
import type { DeploymentRow, EventRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { LEARNED_TTL_CHANGED } from "./ttl-changes.js";

/** A suggestion's evidence, as stored (learned_ttls.evidence) and as the API shows it. */
export const TtlEvidenceSchema = z.object({
  metric: z.string(),
  direction: z.enum(["higher", "lower"]),
  threshold: z.number(),
  level_at_zero: z.number(),
  slope_per_day: z.number(),
  interval_per_day: z.tuple([z.number(), z.number()]),
  spread_per_day: z.tuple([z.number(), z.number()]),
  consistent: z.boolean(),
  crossing_age_seconds: z.tuple([z.number().nullable(), z.number().nullable(), z.number().nullable()]),
  label_delay_seconds: z.number(),
  lead_time_seconds: z.number(),
  based_on_deployments: z.number().int(),
  based_on_windows: z.number().int(),
}) satisfies z.ZodType<TtlEvidence>;

/** A change of a learned TTL, as `policy explain` shows it. */
export interface LearnedTtlChange {
  at: string;
  from_seconds: number;
  to_seconds: number;
  source: string;
  reason: string | null;
  evidence: Record<string, unknown> | null;
}

/** How an `auto` policy's TTL was set for a deployment: learned or fallback, why, and its changes. */
export interface LearnedTtlExplanation {
  source: "learned" | "fallback";
  ttl_seconds: number;
  /** The suggestion before the policy's bounds; null without a curve. */
  suggested_max_age_seconds: number | null;
  min_seconds: number;
  max_seconds: number;
  fallback_seconds: number;
  /** When a sweep last learned it; null before the first sweep. */
  learned_at: string | null;
  reason: string | null;
  evidence: TtlEvidence | null;
  changes: LearnedTtlChange[];
}

/** The explanation of a deployment's `auto` TTL, or null when its policy's `max_age` is fixed. */
export async function explainLearnedTtl(
  stores: Pick<Stores, "learnedTtls" | "deployments">,
  row: DeploymentRow,
  policy: Policy,
): Promise<LearnedTtlExplanation | null> {
  const auto = policy.max_age_auto;
  if (!auto) return null;
  const [stored, events] = await Promise.all([
    stores.learnedTtls.findLearnedTtl({
      model: row.model,
      environment: row.environment,
      policy: policy.name,
    }),
    stores.deployments.listEvents(row.id),
  ]);
  return {
    source: policy.ttl_source ?? "fallback",
    ttl_seconds: policy.max_age_seconds,
    suggested_max_age_seconds: stored?.ttl_seconds ?? null,
    min_seconds: auto.min_seconds,
    max_seconds: auto.max_seconds,
    fallback_seconds: auto.fallback_seconds,
    learned_at: stored ? iso(stored.learned_at) : null,
    reason: stored?.reason ?? null,
    evidence: stored?.evidence
      ? parseStoredJson("learned_ttls.evidence", TtlEvidenceSchema, stored.evidence)
      : null,
    changes: events.filter((e) => e.type === LEARNED_TTL_CHANGED).map(changeOf),
  };
}

function changeOf(event: EventRow): LearnedTtlChange {
  const data = parseJsonColumn("event_data", event.data);
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
  return {
    at: iso(event.at),
    from_seconds: num(data.from_seconds),
    to_seconds: num(data.to_seconds),
    source: typeof data.source === "string" ? data.source : "learned",
    reason: typeof data.reason === "string" ? data.reason : null,
    evidence:
      data.evidence && typeof data.evidence === "object" ? (data.evidence as Record<string, unknown>) : null,
  };
}
