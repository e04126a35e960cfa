import type { FindingKind, Severity } from "../core/finding.js";

export type { Severity } from "../core/finding.js";

/** What a notification does to its alert in the channel. */
export type NotificationAction = "trigger" | "remind" | "resolve";

/**
 * One message to one channel about one alert, as the outbox stores it: rendered from the
 * alert and its deployment in the transaction that changed the alert, so that a delivery
 * made after a restart says what was true when it was decided. Channels turn it into their
 * own wire format at send time (a webhook's signature needs the time of sending).
 */
export interface Notification {
  action: NotificationAction;
  alert: {
    id: number;
    kind: FindingKind;
    severity: Severity;
    /** One line: `fraud-gbm 3.2.0 in production is expired: 31d of 30d (103%)`. */
    summary: string;
    /** Stable per deployment and kind: PagerDuty's dedup_key, so a resolve closes the trigger. */
    dedup_key: string;
    state: "open" | "resolved";
    opened_at: string;
    resolved_at: string | null;
    /** Why it resolved (`superseded`, `reviewed`, `retired`, `rolled_back`, `cleared`). */
    resolution: string | null;
  };
  deployment: {
    id: number;
    model: string;
    model_version: string;
    environment: string;
    owner_team: string;
    role: string;
    status: string;
    deployment_date: string;
    training_data_cutoff: string;
    endpoint: string | null;
    policy: string;
    age: {
      deployment_age_seconds: number;
      data_age_seconds: number;
      ttl_seconds: number;
      ttl_fraction: number;
      stage: string | null;
    };
  };
  /** The finding's own evidence: thresholds, the age it was judged at, the policy's reason. */
  finding: Record<string, unknown>;
  /** The sweep's evaluation time. */
  evaluated_at: string;
  /** The deployment in the API (or the dashboard): where a reader goes next. */
  link: string;
}

/** An HTTP request a channel wants sent; the dispatcher sends it and records the attempt. */
export interface OutboundRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
}
