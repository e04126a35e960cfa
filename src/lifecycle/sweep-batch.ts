import { type AlertPlan, acknowledgedKinds, planAlerts } from "../core/alert-plan.js";
import { lifecycleDates } from "../core/findings.js";
import type { Policy } from "../core/policy.js";
import type { AlertRow, DeploymentRow } from "../store/schema.js";
import { type JudgePageOptions, judgePage } from "./judge-page.js";
import type { Pass } from "./sweep-pass.js";

/**
 * One batch of a sweep's page: its deployments judged (judgePage), then their alerts planned from
 * what was found and what is open or was reviewed, and written — opened, reminded, resolved, with
 * their notifications — in one transaction (a preview's counting writer), counted once it holds.
 */
export async function sweepBatch(
  options: JudgePageOptions,
  rows: DeploymentRow[],
  pass: Pass,
  policyOf: (row: DeploymentRow) => Policy,
): Promise<void> {
  const { stores } = options;
  const evaluated = await judgePage(options, rows, pass, policyOf);
  const rowBy = new Map(evaluated.map((e) => [e.row.id, e.row]));
  const first = rows[0]?.id ?? 0;
  const last = rows.at(-1)?.id ?? 0;
  const [open, reviewed] = await Promise.all([
    stores.alerts.openAlertsInRange(first, last),
    stores.alerts.reviewedAlertsInRange(first, last),
  ]);
  const reviewedBy = groupBy(reviewed, (a) => a.deployment_id);
  const plan = planAlerts(
    evaluated.map((e) => ({
      deployment_id: e.row.id,
      findings: e.findings,
      repeat_interval_seconds: e.policy.repeat_interval_seconds,
      acknowledged: reviewedBy.has(e.row.id)
        ? acknowledgedKinds(reviewedBy.get(e.row.id) ?? [], lifecycleDates(e.row, e.policy))
        : undefined,
    })),
    open,
    pass.at,
  );
  if (plan.open.length + plan.remind.length + plan.resolve.length === 0) return;
  // Whole rows only of the alerts that change.
  const changing = await stores.alerts.findAlerts([...plan.remind, ...plan.resolve].map((a) => a.alert_id));
  await applyPlan(options, plan, rowBy, new Map(changing.map((a) => [a.id, a])), pass);
}

async function applyPlan(
  { incidents }: JudgePageOptions,
  plan: AlertPlan,
  rowBy: Map<number, DeploymentRow>,
  alertBy: Map<number, AlertRow>,
  pass: Pass,
): Promise<void> {
  const { at, totals } = pass;
  const rowOf = (id: number) => rowBy.get(id) as DeploymentRow;
  const alertOf = (id: number) => alertBy.get(id) as AlertRow;
  await pass.alertWrites(async (tx) => {
    const opened = await incidents.open(
      tx,
      plan.open.map((o) => ({ row: rowOf(o.deployment_id), finding: o.finding })),
      at,
    );
    const reminded = await incidents.remind(
      tx,
      plan.remind.map((r) => ({
        alert: alertOf(r.alert_id),
        row: rowOf(r.deployment_id),
        finding: r.finding,
      })),
      at,
    );
    let notifications = opened.notifications + reminded.notifications;
    let resolved = 0;
    for (const resolution of ["escalated", "cleared"] as const) {
      const items = plan.resolve
        .filter((r) => r.resolution === resolution)
        .map((r) => ({ alert: alertOf(r.alert_id), row: rowOf(r.deployment_id) }));
      if (items.length === 0) continue;
      const change = await incidents.resolve(tx, items, at, resolution);
      resolved += change.alerts;
      notifications += change.notifications;
    }
    // Counted only once the transaction holds: a retried transaction must not count twice.
    totals.alerts_opened += opened.alerts;
    totals.alerts_resolved += resolved;
    totals.notifications += notifications;
  });
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}
