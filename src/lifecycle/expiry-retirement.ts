import type { AlertChange, AlertWrites, Incidents } from "../alerts/incidents.js";
import { ConflictError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import type { Policy } from "../core/policy.js";
import { type EndedAlerts, NO_ENDED_ALERTS, type Registry } from "../registry/registry.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { type Pass, SWEEP_ACTOR } from "./sweep-pass.js";

export interface ExpiryRetirementOptions {
  stores: Stores;
  registry: Registry;
  incidents: Incidents;
}

/**
 * `expire_action: retire` retires an expired deployment only when something can take over:
 * a shadow or canary answers no one alone, so it simply ends; a primary gives way to the
 * golden version of its model and environment (a rollback). Otherwise the deployment stays,
 * and the expired finding says why. When it ends, its expiry's alert says what was done about it
 * and resolves with it (`retired`, `rolled_back`, `superseded`), so a retirement on policy never
 * goes unnoticed: the alert that is open already (its expire_action was blocked until now) carries
 * it, so channels hear one resolution, not a second trigger (a second retraining run); else one
 * opens and resolves at once.
 */
export async function retireOnPolicy(
  deps: ExpiryRetirementOptions,
  row: DeploymentRow,
  policy: Policy,
  finding: Finding,
  pass: Pass,
): Promise<{ ended: true } | { ended: false; reason: string }> {
  const { at, totals } = pass;
  const reason = `expired under policy ${policy.name} (expire_action: retire)`;
  // A primary makes way for a newer successor that has shown it works, else for the golden version.
  const successor =
    row.role === "primary"
      ? await deps.stores.deployments.findValidatedSuccessor(row.model, row.environment, row.deployment_date)
      : undefined;
  const golden =
    row.role === "primary" && !successor
      ? await deps.stores.models.findGolden(row.model, row.environment)
      : undefined;
  if (row.role === "primary" && !successor && (!golden || golden.model_version === row.model_version)) {
    const noSuccessor = `no newer shadow or canary of ${row.model} in ${row.environment} has held its performance target`;
    return {
      ended: false,
      reason: golden
        ? `the golden version ${golden.model_version} is this deployment and ${noSuccessor}, so it stays for review`
        : `no golden version of ${row.model} in ${row.environment} and ${noSuccessor}, so it stays for review`,
    };
  }
  const action = successor
    ? `replaced by the validated ${successor.role} ${successor.model_version} (deployment ${successor.id})`
    : golden
      ? `rolled back to the golden version ${golden.model_version}`
      : "retired";
  const announced = {
    ...finding,
    summary: `${finding.summary}; ${action}`,
    detail: { ...finding.detail, expire_action_taken: action },
  };
  const ended: DeploymentRow = {
    ...row,
    status: successor ? "superseded" : golden ? "rolled_back" : "retired",
    ended_at: at,
  };
  try {
    const change = pass.dryRun
      ? await pass.alertWrites(async (tx) => {
          const opened = await announce(tx, deps, { row, ended, announced }, at);
          // The registry's change would then resolve the deployment's open alerts, this one among them.
          return sum(opened, await deps.incidents.resolveEnded(tx, [ended], at));
        })
      : await changeAndAnnounce(deps, { row, ended, announced }, { successor, golden, reason }, pass);
    if (successor) pass.tookOver.add(successor.id);
    // Counted once the transaction holds: a retried transaction must not count twice.
    totals.alerts_opened += change.opened;
    totals.alerts_resolved += change.resolved;
    totals.notifications += change.notifications;
    totals.retirements++;
    return { ended: true };
  } catch (error) {
    // A concurrent change (someone retired it first) is not the sweep's failure.
    if (error instanceof ConflictError) return { ended: false, reason: error.message };
    throw error;
  }
}

/** What ending a deployment on policy did to alerts: the expiry's alert opened, and all it resolved. */
interface EndChange {
  opened: number;
  resolved: number;
  notifications: number;
}

/** The deployment as judged and as ended, and its expiry finding with what was done about it. */
interface Ending {
  row: DeploymentRow;
  ended: DeploymentRow;
  announced: Finding;
}

/**
 * Hands over, rolls back or retires, and announces it in the change's own transaction, fenced
 * like the sweep's other writes: a change that fails (its audit row refused, the sweep lease
 * lost) announces nothing, and an announcement that fails changes nothing. The announcement is
 * written before the change resolves the deployment's alerts (the registry's onEnded), so the
 * expiry's alert resolves with it, saying what was done.
 */
async function changeAndAnnounce(
  deps: ExpiryRetirementOptions,
  ending: Ending,
  plan: { successor?: DeploymentRow; golden?: { model_version: string }; reason: string },
  pass: Pass,
): Promise<EndChange> {
  const { registry, incidents } = deps;
  const { successor, golden, reason } = plan;
  const { ended } = ending;
  let opened: AlertChange = NO_ENDED_ALERTS;
  let change: EndChange = { opened: 0, resolved: 0, notifications: 0 };
  const before = async (tx: Stores) => {
    await pass.fence(tx);
    opened = await announce(tx, deps, ending, pass.at);
  };
  // Told what the change resolved; whatever it left open (no onEnded hook) resolves here.
  const within = async (tx: Stores, resolved: EndedAlerts) => {
    change = sum(opened, resolved, await incidents.resolveEnded(tx, [ended], pass.at));
  };
  if (successor)
    await registry.takeOver(ended.id, successor.id, SWEEP_ACTOR, reason, pass.at, within, before);
  else if (golden) {
    // Only the primary this sweep judged: a primary registered meanwhile is not rolled back for it.
    await registry.rollback(ended.model, ended.environment, SWEEP_ACTOR, {
      reason,
      at: pass.at,
      expect_current: ended.id,
      beforeAlertsEnd: before,
      within: (tx, _rolledBack, _replacement, resolved) => within(tx, resolved),
    });
  } else {
    await registry.retire(
      ended.id,
      SWEEP_ACTOR,
      reason,
      pass.at,
      (tx, _retired, resolved) => within(tx, resolved),
      before,
    );
  }
  return change;
}

/**
 * The expiry's alert, saying what was done about it, ready to resolve with the deployment that
 * ends: the open one amended (no notice: its resolution tells it), else one opened. What it opened.
 */
async function announce(
  tx: AlertWrites,
  deps: ExpiryRetirementOptions,
  { row, announced }: Ending,
  at: number,
): Promise<AlertChange> {
  const open = (await tx.alerts.openAlertsFor([row.id])).filter((a) => a.kind === "expired");
  for (const alert of open) await tx.alerts.amendAlert(alert.id, announced.summary, announced.detail);
  return open.length > 0 ? NO_ENDED_ALERTS : deps.incidents.open(tx, [{ row, finding: announced }], at);
}

function sum(opened: AlertChange, ...resolved: EndedAlerts[]): EndChange {
  return {
    opened: opened.alerts,
    resolved: resolved.reduce((n, r) => n + r.alerts, 0),
    notifications: resolved.reduce((n, r) => n + r.notifications, opened.notifications),
  };
}
