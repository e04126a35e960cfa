import { z } from "zod";
import { FINDING_KINDS, SEVERITIES } from "../core/finding.js";
import { ALERT_STATES } from "../core/words.js";

export type { Severity } from "../core/finding.js";

/** What a notification does to its alert in the channel. */
export const NotificationAction = z.enum(["trigger", "remind", "resolve"]);
export type NotificationAction = z.infer<typeof NotificationAction>;

/**
 * One message to one channel about one alert, as the outbox stores it: rendered from the
 * alert and its deployment in the transaction that changed the alert, so that a delivery
 * made after a restart says what was true when it was decided. Channels turn it into their
 * own wire format at send time (a webhook's signature needs the time of sending). Read back
 * from deliveries.notification with this schema.
 */
export const Notification = z.object({
  action: NotificationAction,
  alert: z.object({
    id: z.number(),
    kind: z.enum(FINDING_KINDS),
    severity: z.enum(SEVERITIES),
    /** One line: `fraud-gbm 3.2.0 in production is expired: 31d of 30d (103%)`. */
    summary: z.string(),
    /** Stable per deployment and kind: PagerDuty's dedup_key, so a resolve closes the trigger. */
    dedup_key: z.string(),
    state: z.enum(ALERT_STATES),
    opened_at: z.string(),
    resolved_at: z.string().nullable(),
    /** Why it resolved (`superseded`, `reviewed`, `retired`, `rolled_back`, `cleared`). */
    resolution: z.string().nullable(),
  }),
  deployment: z.object({
    id: z.number(),
    model: z.string(),
    model_version: z.string(),
    environment: z.string(),
    owner_team: z.string(),
    role: z.string(),
    status: z.string(),
    deployment_date: z.string(),
    training_data_cutoff: z.string(),
    endpoint: z.string().nullable(),
    policy: z.string(),
    age: z.object({
      deployment_age_seconds: z.number(),
      data_age_seconds: z.number(),
      ttl_seconds: z.number(),
      ttl_fraction: z.number(),
      stage: z.string().nullable(),
    }),
  }),
  /** The finding's own evidence: thresholds, the age it was judged at, the policy's reason. */
  finding: z.record(z.string(), z.unknown()),
  /** The sweep's evaluation time. */
  evaluated_at: z.string(),
  /** The deployment in the API (or the dashboard): where a reader goes next. */
  link: z.string(),
});
export type Notification = z.infer<typeof Notification>;

/** An HTTP request a channel wants sent; the dispatcher sends it and records the attempt. */
export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}
