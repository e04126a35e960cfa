import type { Incidents } from "../alerts/incidents.js";
import { ConflictError, NotFoundError } from "../core/errors.js";
import { ACTION_KINDS } from "../core/finding.js";
import { lifecycleDates } from "../core/findings.js";
import { isoTime as iso } from "../core/iso-time.js";
import type { Actor } from "../registry/actor.js";
import { snapshotOf } from "../registry/audit-trail.js";
import type { DeploymentView } from "../registry/deployment-view.js";
import type { Registry } from "../registry/registry.js";
import type { Stores } from "../store/stores.js";
import { type AlertView, toAlertView } from "./lifecycle-view.js";

/**
 * What a person acknowledges: a review of a live deployment (its age alerts end, its TTL may be
 * extended) and an alert closed by hand once dealt with. Each is one transaction with its event,
 * its notifications and its audit row.
 */

export interface AcknowledgementDeps {
  stores: Stores;
  registry: Registry;
  incidents: Incidents;
  clock: () => number;
  /** Called when a change queued notifications. */
  onNotifications?: () => void;
}

/**
 * A review: acknowledges the deployment's age, optionally extends its TTL, records who and
 * when, and resolves its open age alerts when the extension takes it back below its review
 * point (or expiry), telling their channels, all in one transaction.
 */
export async function reviewDeployment(
  deps: AcknowledgementDeps,
  id: number,
  actor: Actor,
  body: { note: string; extend_seconds?: number },
): Promise<DeploymentView> {
  const now = deps.clock();
  const { registry, incidents } = deps;
  const row = await deps.stores.transaction(async (tx) => {
    const row = await tx.deployments.findDeployment(id);
    if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
    registry.assertTeam(actor, row.owner_team);
    if (row.status !== "active")
      throw new ConflictError(`deployment ${id} is ${row.status}, not live: nothing to review`);
    const extend = body.extend_seconds ?? 0;
    if (extend > 0) await tx.deployments.extendTtl(id, extend);
    const reviewed = { ...row, ttl_extension_seconds: row.ttl_extension_seconds + extend };
    const policy = registry.policyOf(row);
    const dates = lifecycleDates(reviewed, policy);
    await tx.deployments.appendEvent({
      deployment_id: id,
      model: row.model,
      environment: row.environment,
      type: "reviewed",
      actor: actor.name,
      at: now,
      data: {
        model_version: row.model_version,
        note: body.note,
        extend_seconds: extend,
        ttl_seconds: policy.max_age_seconds + reviewed.ttl_extension_seconds,
        due_at: iso(dates.due_at),
        expires_at: iso(dates.expires_at),
      },
    });
    // The review is the acknowledgement: its open age alerts end here. If the deployment is
    // still past its (extended) review point, the next sweep raises a new one.
    const open = (await tx.alerts.openAlertsFor([id])).filter(
      (a) => a.kind === "due" || a.kind === "expired",
    );
    const change = await incidents.resolve(
      tx,
      open.map((alert) => ({ alert, row: reviewed })),
      now,
      "reviewed",
    );
    await registry.audit.recordIn(
      tx,
      actor,
      "deployment.review",
      { kind: "deployment", id },
      snapshotOf(row),
      snapshotOf(reviewed),
    );
    if (change.notifications > 0) queueMicrotask(() => deps.onNotifications?.());
    return reviewed;
  });
  return registry.view(row, now);
}

/**
 * A person closes an alert that no sweep closes (a canary rolled back or paused, a guardrail's
 * rollback) once they have dealt with it: recorded as an event with who, when and what was
 * done, and its channels told, in one transaction. An alert a sweep concludes closes when its
 * condition ends (an age alert with a review), so closing one by hand is refused rather than
 * reopened by the next sweep.
 */
export async function resolveAlertByHand(
  deps: AcknowledgementDeps,
  id: number,
  actor: Actor,
  note: string,
): Promise<AlertView> {
  const now = deps.clock();
  const { registry, incidents } = deps;
  const alert = await deps.stores.transaction(async (tx) => {
    const [alert] = await tx.alerts.findAlerts([id]);
    if (!alert) throw new NotFoundError(`alert ${id} does not exist`);
    registry.assertTeam(actor, alert.owner_team);
    if (alert.state !== "open") {
      throw new ConflictError(`alert ${id} is already resolved (${alert.resolution ?? "resolved"})`);
    }
    if (!ACTION_KINDS.has(alert.kind))
      throw new ConflictError(closedBySweep(alert.kind, alert.deployment_id));
    const row = await tx.deployments.findDeployment(alert.deployment_id);
    if (!row) throw new NotFoundError(`deployment ${alert.deployment_id} of alert ${id} does not exist`);
    const change = await incidents.resolve(tx, [{ alert, row }], now, "acknowledged");
    await tx.deployments.appendEvent({
      deployment_id: row.id,
      model: row.model,
      environment: row.environment,
      type: "alert_resolved",
      actor: actor.name,
      at: now,
      data: { alert_id: id, kind: alert.kind, model_version: row.model_version, note },
    });
    const resolved = { ...alert, state: "resolved" as const, resolved_at: now, resolution: "acknowledged" };
    await registry.audit.recordIn(
      tx,
      actor,
      "alert.resolve",
      { kind: "alert", id },
      snapshotOf(alert),
      snapshotOf(resolved),
    );
    if (change.notifications > 0) queueMicrotask(() => deps.onNotifications?.());
    return resolved;
  });
  return toAlertView(alert);
}

/** Why an alert a sweep concluded cannot be closed by hand, and what closes it. */
function closedBySweep(kind: string, deploymentId: number): string {
  const how =
    kind === "due" || kind === "expired"
      ? `review the deployment (tenure review ${deploymentId}) or end it`
      : "the sweep closes it when the condition ends, or when the deployment ends";
  return `${/^[aeiou]/.test(kind) ? "an" : "a"} ${kind} alert is not closed by hand: ${how}`;
}
