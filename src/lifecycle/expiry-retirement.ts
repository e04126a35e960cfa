import type { Incidents } from "../alerts/incidents.js";
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
  const registry = deps.registry;
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
    await pass.alertWrites(async (tx) => {
      const open = await tx.alerts.openAlertsFor([row.id]);
      if (open.some((a) => a.kind === "expired")) return;
      const change = await deps.incidents.open(tx, [{ row, finding: announced }], at);
      totals.alerts_opened += change.alerts;
      totals.notifications += change.notifications;
    });
    if (pass.dryRun) {
      if (successor) pass.tookOver.add(successor.id);
    } else if (successor) {
      await registry.takeOver(row.id, successor.id, SWEEP_ACTOR, reason, at);
      pass.tookOver.add(successor.id);
    } else if (golden) await registry.rollback(row.model, row.environment, SWEEP_ACTOR, { reason, at });
    else await registry.retire(row.id, SWEEP_ACTOR, reason, at);
    totals.retirements++;
    return { ended: true };
  } catch (error) {
    // A concurrent change (someone retired it first) is not the sweep's failure.
    if (error instanceof ConflictError) return { ended: false, reason: error.message };
    throw error;
  }
}
