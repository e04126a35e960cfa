import type { AlertChange, AlertWrites, Incidents } from "../alerts/incidents.js";
import { ConflictError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import type { Policy } from "../core/policy.js";
import type { Registry } from "../registry/registry.js";
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
 * and the expired finding says why. When it ends, its channels hear the expiry and, at once,
 * its resolution (`retired` or `rolled_back`), so a retirement on policy never goes unnoticed.
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
  try {
    const change = pass.dryRun
      ? await pass.alertWrites((tx) => openExpired(tx, deps, row, announced, at))
      : await changeAndAnnounce(deps, row, { successor, golden, reason, announced }, pass);
    if (successor) pass.tookOver.add(successor.id);
    // Counted once the transaction holds: a retried transaction must not count twice.
    totals.alerts_opened += change?.alerts ?? 0;
    totals.notifications += change?.notifications ?? 0;
    totals.retirements++;
    return { ended: true };
  } catch (error) {
    // A concurrent change (someone retired it first) is not the sweep's failure.
    if (error instanceof ConflictError) return { ended: false, reason: error.message };
    throw error;
  }
}

/**
 * Hands over, rolls back or retires, and announces it in the change's own transaction, fenced
 * like the sweep's other writes: a change that fails (its audit row refused, the sweep lease
 * lost) announces nothing, and an announcement that fails changes nothing.
 */
async function changeAndAnnounce(
  deps: ExpiryRetirementOptions,
  row: DeploymentRow,
  plan: { successor?: DeploymentRow; golden?: { model_version: string }; reason: string; announced: Finding },
  pass: Pass,
): Promise<AlertChange | undefined> {
  const { registry } = deps;
  const { successor, golden, reason } = plan;
  let change: AlertChange | undefined;
  const status = successor ? "superseded" : golden ? "rolled_back" : "retired";
  const within = async (tx: Stores) => {
    await pass.fence(tx);
    change = await openExpired(tx, deps, row, plan.announced, pass.at);
    // The change ended the deployment's other alerts before this one was opened: it resolves too.
    await deps.incidents.resolveEnded(tx, [{ ...row, status, ended_at: pass.at }], pass.at);
  };
  if (successor) await registry.takeOver(row.id, successor.id, SWEEP_ACTOR, reason, pass.at, within);
  else if (golden) {
    // Only the primary this sweep judged: a primary registered meanwhile is not rolled back for it.
    await registry.rollback(row.model, row.environment, SWEEP_ACTOR, {
      reason,
      at: pass.at,
      expect_current: row.id,
      within,
    });
  } else await registry.retire(row.id, SWEEP_ACTOR, reason, pass.at, within);
  return change;
}

/** The expiry's alert with what was done about it, unless one is open already. */
async function openExpired(
  tx: AlertWrites,
  deps: ExpiryRetirementOptions,
  row: DeploymentRow,
  finding: Finding,
  at: number,
): Promise<AlertChange | undefined> {
  const open = await tx.alerts.openAlertsFor([row.id]);
  if (open.some((a) => a.kind === "expired")) return undefined;
  return deps.incidents.open(tx, [{ row, finding }], at);
}
