import { isoTime as iso } from "../core/iso-time.js";
import type { AlertState, DeliveryState, SweepState } from "../core/words.js";
import { parseJsonColumn } from "../store/json-columns.js";
import type { AlertRow, DeliveryAttemptRow, DeliveryRow, SweepRow } from "../store/schema.js";

const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export interface SweepView {
  /** Null for a preview, which is not logged. */
  id: number | null;
  /** A preview: nothing was written, nothing sent. */
  dry_run: boolean;
  state: SweepState;
  trigger: string;
  actor: string;
  evaluated_at: string;
  scheduled_for: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  deployments: number;
  stages: Record<string, number>;
  findings: Record<string, number>;
  promotions: number;
  retirements: number;
  alerts_opened: number;
  alerts_resolved: number;
  notifications: number;
  error: string | null;
}

export function toSweepView(row: SweepRow | (Omit<SweepRow, "id"> & { id: null; dry_run: true })): SweepView {
  return {
    dry_run: false,
    ...row,
    evaluated_at: iso(row.evaluated_at),
    scheduled_for: isoOrNull(row.scheduled_for),
    started_at: iso(row.started_at),
    finished_at: isoOrNull(row.finished_at),
    stages: parseJsonColumn("sweep_counts", row.stages),
    findings: parseJsonColumn("sweep_counts", row.findings),
  };
}

export interface AlertView {
  id: number;
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
  detail: Record<string, unknown>;
  opened_at: string;
  last_notified_at: string | null;
  notifications: number;
  resolved_at: string | null;
  resolution: string | null;
}

export function toAlertView(row: AlertRow): AlertView {
  return {
    ...row,
    detail: parseJsonColumn("alert_detail", row.detail),
    opened_at: iso(row.opened_at),
    last_notified_at: isoOrNull(row.last_notified_at),
    resolved_at: isoOrNull(row.resolved_at),
  };
}

export interface DeliveryView {
  id: number;
  alert_id: number;
  channel: string;
  action: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  created_at: string;
  delivered_at: string | null;
  attempt_log: { at: string; duration_ms: number; status_code: number | null; error: string | null }[];
}

export function toDeliveryView(row: DeliveryRow, attempts: DeliveryAttemptRow[]): DeliveryView {
  return {
    id: row.id,
    alert_id: row.alert_id,
    channel: row.channel,
    action: row.action,
    state: row.state,
    attempts: row.attempts,
    next_attempt_at: row.state === "pending" ? iso(row.next_attempt_at) : null,
    last_error: row.last_error,
    created_at: iso(row.created_at),
    delivered_at: isoOrNull(row.delivered_at),
    attempt_log: attempts.map((a) => ({
      at: iso(a.at),
      duration_ms: a.duration_ms,
      status_code: a.status_code,
      error: a.error,
    })),
  };
}
