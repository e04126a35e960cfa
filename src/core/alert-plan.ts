import { ACTION_KINDS, type Finding } from "./finding.js";

/** An open alert, as planning needs it. */
export interface OpenAlert {
  id: number;
  deployment_id: number;
  kind: string;
  last_notified_at: number | null;
}

/** One deployment's findings at a sweep, with how often its policy repeats an open alert. */
export interface EvaluatedDeployment {
  deployment_id: number;
  findings: Finding[];
  repeat_interval_seconds: number;
  /** Kinds a review acknowledged: they open no new alert (see `acknowledgedKinds`). */
  acknowledged?: ReadonlySet<string>;
}

export interface AlertPlan {
  open: { deployment_id: number; finding: Finding }[];
  remind: { alert_id: number; deployment_id: number; finding: Finding }[];
  /** `escalated` when a due alert gives way to an expired one; `cleared` when the cause went away. */
  resolve: { alert_id: number; deployment_id: number; resolution: "escalated" | "cleared" }[];
}

/**
 * Decides what a sweep does to the alerts of the deployments it evaluated: a finding with no
 * open alert opens one; a finding whose alert is open repeats it only once its policy's
 * repeat interval has passed since the last notice (so two sweeps on one day notify once); an
 * open alert whose finding is gone resolves, unless a sweep never concludes its kind (ACTION_KINDS).
 */
export function planAlerts(evaluated: EvaluatedDeployment[], open: OpenAlert[], at: number): AlertPlan {
  const openBy = new Map(open.map((a) => [`${a.deployment_id}:${a.kind}`, a]));
  const openOf = new Map<number, OpenAlert[]>();
  for (const a of open) openOf.set(a.deployment_id, [...(openOf.get(a.deployment_id) ?? []), a]);
  const plan: AlertPlan = { open: [], remind: [], resolve: [] };
  for (const d of evaluated) {
    const kinds = new Set(d.findings.map((f) => f.kind));
    for (const finding of d.findings) {
      const alert = openBy.get(`${d.deployment_id}:${finding.kind}`);
      if (!alert) {
        if (!d.acknowledged?.has(finding.kind)) plan.open.push({ deployment_id: d.deployment_id, finding });
      } else if (
        alert.last_notified_at === null ||
        at - alert.last_notified_at >= d.repeat_interval_seconds * 1000
      ) {
        plan.remind.push({ alert_id: alert.id, deployment_id: d.deployment_id, finding });
      }
    }
    for (const alert of openOf.get(d.deployment_id) ?? []) {
      if (kinds.has(alert.kind as Finding["kind"]) || ACTION_KINDS.has(alert.kind)) continue;
      const escalated = alert.kind === "due" && kinds.has("expired");
      plan.resolve.push({
        alert_id: alert.id,
        deployment_id: d.deployment_id,
        resolution: escalated ? "escalated" : "cleared",
      });
    }
  }
  return plan;
}

/**
 * The age findings a review acknowledged: a review resolves the deployment's `due` and
 * `expired` alerts, and the same kind does not open again while the review happened at or
 * after the threshold it crossed (`due_at` for due, `expires_at` for expired). An extension
 * moves the thresholds: crossing the new one is news again, and alerts.
 */
export function acknowledgedKinds(
  reviewed: readonly { kind: string; resolved_at: number | null }[],
  thresholds: { due_at: number; expires_at: number },
): Set<string> {
  const acknowledged = new Set<string>();
  for (const alert of reviewed) {
    const threshold =
      alert.kind === "due" ? thresholds.due_at : alert.kind === "expired" ? thresholds.expires_at : undefined;
    if (threshold !== undefined && alert.resolved_at !== null && alert.resolved_at >= threshold)
      acknowledged.add(alert.kind);
  }
  return acknowledged;
}
