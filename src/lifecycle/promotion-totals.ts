import type { Incidents } from "../alerts/incidents.js";
import { type EndedAlerts, NO_ENDED_ALERTS, type Registry } from "../registry/registry.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { type Pass, SWEEP_ACTOR } from "./sweep-pass.js";

/**
 * Carries out one scheduled promotion for a sweep. The primary it supersedes has its open alerts
 * resolved in the promotion's transaction (the registry's onEnded): those, and the notifications
 * they queue, are the sweep's too, counted once the transaction holds (a retried one counts once).
 * True when it promoted.
 */
export async function promoteCounting(registry: Registry, id: number, pass: Pass): Promise<boolean> {
  let resolved: EndedAlerts = NO_ENDED_ALERTS;
  const promoted = await registry.promote(id, pass.at, SWEEP_ACTOR, async (_tx, change) => {
    resolved = change;
  });
  pass.totals.alerts_resolved += resolved.alerts;
  pass.totals.notifications += resolved.notifications;
  return promoted !== undefined;
}

/**
 * What a preview counts for the primaries its promotions would supersede (`pass.superseded`):
 * their open alerts resolve with them, as `promoteCounting` counts in a sweep.
 */
export async function previewSupersessions(
  deps: { stores: Stores; incidents: Incidents },
  pass: Pass,
): Promise<void> {
  if (pass.superseded.size === 0) return;
  const rows = await deps.stores.deployments.findDeployments([...pass.superseded]);
  const ended = rows.map((row): DeploymentRow => ({ ...row, status: "superseded", ended_at: pass.at }));
  const change = await pass.alertWrites((tx) => deps.incidents.resolveEnded(tx, ended, pass.at));
  pass.totals.alerts_resolved += change.alerts;
  pass.totals.notifications += change.notifications;
}
