import { z } from "zod";
import { ALERT_STATES, DELIVERY_STATES, ROLES, SWEEP_STATES } from "../core/words.js";
import { TtlEvidenceSchema } from "../lifecycle/learned-ttl-view.js";
import { AgeBlock } from "./schemas.js";

const timestamp = z.string().describe("ISO 8601 UTC with milliseconds");
const counts = z.record(z.string(), z.number().int());

export const Sweep = z.object({
  id: z.number().int().nullable().describe("null for a preview, which is not logged"),
  dry_run: z.boolean().describe("a preview: nothing was written, nothing sent"),
  state: z.enum(SWEEP_STATES),
  trigger: z.string().describe("schedule, startup (a missed sweep), promotion or manual"),
  actor: z.string(),
  evaluated_at: timestamp.describe("the time the sweep judged the fleet at"),
  scheduled_for: timestamp.nullable(),
  started_at: timestamp,
  finished_at: timestamp.nullable(),
  duration_ms: z.number().int().nullable(),
  deployments: z.number().int(),
  stages: counts.describe("live deployments per stage"),
  findings: counts.describe("findings per kind"),
  promotions: z.number().int(),
  retirements: z.number().int().describe("deployments retired or rolled back under expire_action: retire"),
  alerts_opened: z.number().int(),
  alerts_resolved: z
    .number()
    .int()
    .describe("alerts resolved, those its promotions, rollbacks and retirements ended with them included"),
  notifications: z
    .number()
    .int()
    .describe("notifications queued, one per channel: every alert it opened, reminded or resolved"),
  error: z.string().nullable(),
});

export const SweepList = z.object({ items: z.array(Sweep), next_cursor: z.string().nullable() });

export const Alert = z.object({
  id: z.number().int(),
  deployment_id: z.number().int(),
  kind: z.string(),
  state: z.enum(ALERT_STATES),
  severity: z.string(),
  policy: z.string(),
  model: z.string(),
  model_version: z.string(),
  environment: z.string(),
  owner_team: z.string(),
  summary: z.string(),
  detail: z.record(z.string(), z.unknown()),
  opened_at: timestamp,
  last_notified_at: timestamp.nullable(),
  notifications: z.number().int(),
  resolved_at: timestamp.nullable(),
  resolution: z.string().nullable(),
});

export const AlertList = z.object({ items: z.array(Alert), next_cursor: z.string().nullable() });

export const Delivery = z.object({
  id: z.number().int(),
  alert_id: z.number().int(),
  channel: z.string(),
  action: z.string(),
  state: z.enum(DELIVERY_STATES),
  attempts: z.number().int(),
  next_attempt_at: timestamp.nullable(),
  last_error: z.string().nullable(),
  created_at: timestamp,
  delivered_at: timestamp.nullable(),
  attempt_log: z.array(
    z.object({
      at: timestamp,
      duration_ms: z.number().int(),
      status_code: z.number().int().nullable(),
      error: z.string().nullable(),
    }),
  ),
});

export const DeliveryList = z.object({ items: z.array(Delivery), next_cursor: z.string().nullable() });

export const Explain = z.object({
  deployment_id: z.number().int(),
  policy: z.string(),
  reason: z.string(),
  exempt: z.boolean(),
  exempt_reason: z.string().nullable(),
  max_age_seconds: z.number().int(),
  review_at: z.number(),
  ttl_extension_seconds: z.number().int(),
  max_data_age_seconds: z.number().int().nullable(),
  silence_after_seconds: z.number().int().nullable(),
  expire_action: z.enum(["review", "retire"]),
  guardrail: z
    .object({ error_rate: z.number(), bake_seconds: z.number().int(), min_requests: z.number().int() })
    .nullable(),
  due_at: timestamp,
  expires_at: timestamp,
  notify: z.record(z.string(), z.array(z.string())),
  candidates: z.array(z.object({ name: z.string(), score: z.number().int(), matched: z.boolean() })),
  learned_ttl: z
    .object({
      source: z.enum(["learned", "fallback"]),
      ttl_seconds: z.number().int(),
      suggested_max_age_seconds: z.number().int().nullable(),
      min_seconds: z.number().int(),
      max_seconds: z.number().int(),
      fallback_seconds: z.number().int(),
      learned_at: timestamp.nullable(),
      reason: z.string().nullable(),
      evidence: TtlEvidenceSchema.nullable(),
      changes: z.array(
        z.object({
          at: timestamp,
          from_seconds: z.number().int(),
          to_seconds: z.number().int(),
          source: z.string(),
          reason: z.string().nullable(),
          evidence: z.record(z.string(), z.unknown()).nullable(),
        }),
      ),
    })
    .nullable()
    .describe("how a `max_age: auto` TTL was set, and its changes; null for a fixed max_age"),
});

export const TtlSuggestions = z.object({
  items: z.array(
    z.object({
      model: z.string(),
      environment: z.string(),
      policy: z.string().nullable(),
      current_max_age_seconds: z.number().int().nullable(),
      suggested_max_age_seconds: z.number().int().nullable(),
      reason: z.string(),
      evidence: TtlEvidenceSchema.nullable(),
    }),
  ),
});

export const LifecycleList = z.object({
  items: z.array(
    z.object({
      deployment_id: z.number().int(),
      model: z.string(),
      model_version: z.string(),
      environment: z.string(),
      owner_team: z.string(),
      policy: z.string(),
      exempt: z.boolean(),
      due_at: timestamp,
      expires_at: timestamp,
      link: z.string(),
    }),
  ),
});

const stageCounts = z.object({ fresh: z.number().int(), due: z.number().int(), expired: z.number().int() });

export const Fleet = z.object({
  live: z.number().int(),
  exempt: z.number().int().describe("live deployments whose policy exempts them from age findings"),
  stages: stageCounts,
  teams: z.record(z.string(), stageCounts),
  environments: z.record(z.string(), stageCounts),
  open_alerts: z.record(z.string(), z.number().int()).describe("open alerts per kind"),
});

export const FleetRow = z.object({
  id: z.number().int(),
  model: z.string(),
  model_version: z.string(),
  environment: z.string(),
  owner_team: z.string(),
  role: z.enum(ROLES),
  deployment_date: timestamp,
  training_data_cutoff: timestamp,
  endpoint: z.string().nullable(),
  age: AgeBlock,
  review_at_seconds: z.number().describe("the deployment age at which a review is due: TTL × review_at"),
  max_data_age_seconds: z
    .number()
    .int()
    .nullable()
    .describe("its policy's max_data_age; null when it sets none"),
  silence_after_seconds: z
    .number()
    .int()
    .nullable()
    .describe(
      "its policy's silence_after: how long without heartbeat or traffic it may stay quiet; null for no limit",
    ),
  performance: z
    .object({
      state: z
        .string()
        .nullable()
        .describe(
          "ok, degraded or insufficient_data, as the last sweep stored it; null before one judged it",
        ),
      drop: z
        .number()
        .nullable()
        .describe("how far its latest judged window fell below the baseline, relative"),
      metric: z.string().describe("the metric its policy targets"),
      value: z
        .number()
        .nullable()
        .describe(
          "the mean of its latest judged window of that metric, within its last 30 windows; null when none",
        ),
      target: z
        .number()
        .nullable()
        .describe("the policy's target; null when the policy learns its threshold"),
      baseline: z
        .number()
        .nullable()
        .describe("the baseline given at registration; null when none was given"),
      at: timestamp.nullable().describe("the end of the window `value` is the mean of"),
    })
    .nullable()
    .describe("null when its policy sets no performance target"),
  drift: z
    .object({
      state: z
        .string()
        .describe("stable, possible or drifted; error when the last sweep could not compare the inputs"),
      share: z
        .number()
        .nullable()
        .describe(
          "the share (0–1) of its monitored features that drifted: 0 when stable, as its open drifted alert measured it when drifted, null when the store does not know it (possible, error)",
        ),
    })
    .nullable()
    .describe("null when its inputs are not monitored"),
  last_heartbeat_at: timestamp.nullable(),
  last_traffic_at: timestamp
    .nullable()
    .describe("the end of the last gateway report in which it answered without error"),
  open_alerts: z.number().int(),
  open_alert_kinds: z.array(z.string()).describe("the kinds of its open alerts, sorted"),
});

export const FleetRows = z.object({
  generated_at: timestamp.describe("the time the ages are computed at"),
  items: z.array(FleetRow).describe("every live deployment in scope, oldest first; not paged"),
});

export const Timeline = z.object({
  deployment_id: z.number().int(),
  from: timestamp,
  to: timestamp.describe("when it ended, or now"),
  policy: z.string(),
  clocks: z.object({
    deployment_date: timestamp,
    training_data_cutoff: timestamp,
    due_at: timestamp,
    expires_at: timestamp,
    ttl_seconds: z.number().int(),
    deployment_age_seconds: z.number().int(),
    data_age_seconds: z.number().int(),
    performance_age_seconds: z.number().int().nullable(),
  }),
  stages: z.array(z.object({ stage: z.string(), from: timestamp, to: timestamp })),
  metrics: z.array(
    z.object({
      name: z.string(),
      direction: z.enum(["higher", "lower"]),
      target: z.number().nullable(),
      threshold: z.number().nullable(),
      baseline: z.number().nullable(),
      state: z.string().nullable(),
      windows: z.array(
        z.object({
          start: timestamp,
          end: timestamp,
          samples: z.number(),
          mean: z.number(),
          state: z.string(),
        }),
      ),
    }),
  ),
  drift: z.object({
    state: z
      .string()
      .nullable()
      .describe(
        "stable, possible or drifted; error when the last sweep could not compare the inputs; null unmonitored",
      ),
    error: z.string().nullable().describe("why the inputs could not be compared, in the error state"),
  }),
  health: z.object({ score: z.number().nullable(), verdict: z.string().nullable() }),
  events: z.array(z.object({ at: timestamp, type: z.string(), actor: z.string() })),
});
