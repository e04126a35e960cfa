import type { Generated, Selectable } from "kysely";
import type { AlertState, DeliveryState, DigestState } from "../../core/words.js";

// Alerts, the outbox of their deliveries, and the teams' report digests.

export interface AlertsTable {
  id: Generated<number>;
  deployment_id: number;
  kind: string;
  state: AlertState;
  severity: string;
  policy: string;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  summary: string;
  /** JSON: the finding's evidence. */
  detail: string;
  opened_at: number;
  last_notified_at: number | null;
  notifications: Generated<number>;
  resolved_at: number | null;
  resolution: string | null;
}

export interface DeliveriesTable {
  id: Generated<number>;
  alert_id: number;
  channel: string;
  action: string;
  /** JSON: the Notification, rendered when the alert changed. */
  notification: string;
  state: DeliveryState;
  attempts: Generated<number>;
  next_attempt_at: number;
  claimed_until: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface DeliveryAttemptsTable {
  id: Generated<number>;
  delivery_id: number;
  at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

export type AlertRow = Selectable<AlertsTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type DeliveryAttemptRow = Selectable<DeliveryAttemptsTable>;

export interface ReportDigestsTable {
  owner_team: string;
  channel: string;
  slot: number;
  state: DigestState;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  updated_at: number;
  sent_at: number | null;
}

export type ReportDigestRow = Selectable<ReportDigestsTable>;
