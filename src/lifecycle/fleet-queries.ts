import type { AgeStage } from "../core/age.js";
import type { LifecycleEntry } from "../core/calendar.js";
import { lifecycleDates } from "../core/findings.js";
import type { DeploymentView } from "../registry/deployment-view.js";
import type { Registry } from "../registry/registry.js";
import type { LiveScope } from "../store/deployment-store.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";

/**
 * Reads over the whole live fleet, a page at a time: the lifecycle dates the calendar feed
 * serves, the counts of the fleet at a glance, and the CI gate's offenders.
 */

export interface FleetDeps {
  stores: Stores;
  registry: Registry;
  clock: () => number;
  /** The base of links (calendar entries). */
  publicUrl: string;
}

export interface FleetView {
  live: number;
  exempt: number;
  stages: Record<AgeStage, number>;
  teams: Record<string, Record<AgeStage, number>>;
  environments: Record<string, Record<AgeStage, number>>;
  open_alerts: Record<string, number>;
}

/** Every live deployment's review and expiry dates, soonest expiry first; optionally one team's. */
export async function lifecycleEntries(
  deps: FleetDeps,
  filter: { owner_team?: string; environment?: string },
): Promise<LifecycleEntry[]> {
  const entries: LifecycleEntry[] = [];
  await eachLive(deps.stores, scopeOf(filter), (row) => {
    const policy = deps.registry.policyOf(row);
    entries.push({
      deployment_id: row.id,
      model: row.model,
      model_version: row.model_version,
      environment: row.environment,
      owner_team: row.owner_team,
      policy: policy.name,
      exempt: policy.exempt,
      ...lifecycleDates(row, policy),
      link: new URL(`/v1/deployments/${row.id}`, deps.publicUrl).toString(),
    });
  });
  return entries.sort((a, b) => a.expires_at - b.expires_at || a.deployment_id - b.deployment_id);
}

/**
 * Counts of live deployments by stage, by team and by environment (each with its stages), and
 * the open alerts by kind: the fleet at a glance.
 */
export async function fleetCounts(deps: FleetDeps): Promise<FleetView> {
  const now = deps.clock();
  const view: FleetView = {
    live: 0,
    exempt: 0,
    stages: emptyStages(),
    teams: {},
    environments: {},
    open_alerts: {},
  };
  await eachLive(deps.stores, {}, (row) => {
    const { age } = deps.registry.view(row, now);
    const stage = age.stage ?? "fresh";
    view.live++;
    if (age.exempt) view.exempt++;
    view.stages[stage]++;
    view.teams[row.owner_team] ??= emptyStages();
    (view.teams[row.owner_team] as Record<AgeStage, number>)[stage]++;
    view.environments[row.environment] ??= emptyStages();
    (view.environments[row.environment] as Record<AgeStage, number>)[stage]++;
  });
  view.open_alerts = await deps.stores.alerts.countOpenAlerts();
  return view;
}

/**
 * The CI gate: live deployments in scope at or past `failOn` (`due` includes expired; `stale`
 * means data older than the policy allows, performance below target, or drifted inputs). An
 * exempt policy waives the age and data-age gates, not the evidence of performance and drift.
 */
export async function checkFleet(
  deps: FleetDeps,
  filter: { owner_team?: string; environment?: string; fail_on: "due" | "expired" | "stale" },
) {
  const now = deps.clock();
  const offenders: (DeploymentView & { reasons: string[] })[] = [];
  let checked = 0;
  await eachLive(deps.stores, scopeOf(filter), (row) => {
    checked++;
    const policy = deps.registry.policyOf(row);
    const view = deps.registry.view(row, now);
    // An exempt policy waives age and data age, not the evidence of performance and drift.
    const reasons = policy.exempt
      ? []
      : offenceOf(view.age.stage, view.age.data_age_seconds, policy.max_data_age_seconds, filter.fail_on);
    if (filter.fail_on === "stale" && row.performance_state === "degraded") reasons.push("degraded");
    if (filter.fail_on === "stale" && row.drift_state === "drifted") reasons.push("drifted");
    if (reasons.length > 0) offenders.push({ ...view, reasons });
  });
  offenders.sort((a, b) => b.age.ttl_fraction - a.age.ttl_fraction);
  return { ok: offenders.length === 0, fail_on: filter.fail_on, checked, offenders };
}

/** Visits the live deployments in `scope`, read a page at a time, each page filtered in SQL. */
async function eachLive(
  stores: Pick<Stores, "deployments">,
  scope: LiveScope,
  visit: (row: DeploymentRow) => Promise<void> | void,
): Promise<void> {
  for (let after = 0; ; ) {
    const rows = await stores.deployments.liveDeployments(after, 1000, scope);
    for (const row of rows) await visit(row);
    if (rows.length < 1000) return;
    after = rows.at(-1)?.id ?? after;
  }
}

export /** A request's scope as the store reads it: an empty value, as before, filters nothing. */
function scopeOf(filter: { owner_team?: string; environment?: string }): LiveScope {
  return {
    owner_team: filter.owner_team || undefined,
    environment: filter.environment || undefined,
  };
}

const emptyStages = (): Record<AgeStage, number> => ({ fresh: 0, due: 0, expired: 0 });

function offenceOf(
  stage: AgeStage | null,
  dataAge: number,
  maxDataAge: number | null,
  failOn: "due" | "expired" | "stale",
): string[] {
  // Age gates: `due` fails on due and expired, `expired` on expired only. `stale` is functional
  // expiry, whatever the age: data older than the policy allows, or performance below target
  // (the caller adds `degraded` and `drifted`).
  if (failOn === "stale") return maxDataAge !== null && dataAge >= maxDataAge ? ["data_stale"] : [];
  if (stage === "expired") return ["expired"];
  if (stage === "due" && failOn === "due") return ["due"];
  return [];
}
