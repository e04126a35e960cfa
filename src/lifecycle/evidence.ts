import { compareDatasets, type Dataset, type DatasetDrift } from "../core/drift/compare.js";
import { DRIFT_ERROR_STATE, driftFinding, driftStateOf } from "../core/drift-finding.js";
import { InputError } from "../core/errors.js";
import type { Finding } from "../core/finding.js";
import { degradedFinding, evaluatePerformance } from "../core/performance.js";
import type { Policy } from "../core/policy.js";
import { datasetOf } from "../monitoring/drift-monitor.js";
import type { DeploymentStore, NewEvent } from "../store/deployment-store.js";
import type { DriftStore } from "../store/drift-store.js";
import type { MetricStore } from "../store/metric-store.js";
import type { DeploymentRow } from "../store/schema.js";

/**
 * The evidence a sweep weighs beside age: performance against target and input drift. Each
 * function judges one page of deployments at once, adds its findings to theirs, and keeps the
 * verdict on the deployments for their views.
 */

const dayOf = (ms: number) => Math.floor(ms / 86_400_000) * 86_400_000;

/**
 * Judges the performance of the page's deployments whose policy sets a target: one query per
 * metric and window length for the whole page, the `degraded` finding added to the others,
 * and the state kept on each deployment for its views (unless `write` is false: a preview).
 */
export async function judgePerformance(
  metrics: MetricStore,
  evaluated: { row: DeploymentRow; policy: Policy; findings: Finding[] }[],
  at: number,
  write = true,
): Promise<void> {
  const groups = new Map<string, typeof evaluated>();
  for (const e of evaluated) {
    const p = e.policy.performance;
    if (!p) continue;
    const key = `${p.metric}\u0000${p.window_seconds}`;
    groups.set(key, [...(groups.get(key) ?? []), e]);
  }
  const updates: { id: number; state: string | null; ok_since: number | null; drop: number | null }[] = [];
  for (const group of groups.values()) {
    const p = group[0]?.policy.performance;
    if (!p) continue;
    const ids = group.map((e) => e.row.id);
    const [aggregates, baselines] = await Promise.all([
      metrics.windowAggregates(ids, p.metric, p.window_seconds * 1000, at),
      metrics.baselines(ids, p.metric),
    ]);
    for (const e of group) {
      const performance = e.policy.performance;
      const windows = aggregates.get(e.row.id);
      if (!performance || !windows) {
        if (e.row.performance_state !== null)
          updates.push({ id: e.row.id, state: null, ok_since: null, drop: null });
        continue;
      }
      const evaluation = evaluatePerformance(windows, performance, baselines.get(e.row.id) ?? null, at);
      const name = `${e.row.model} ${e.row.model_version} in ${e.row.environment}`;
      const finding = degradedFinding(evaluation, name, { name: e.policy.name, performance });
      if (finding) e.findings.push(finding);
      const drop = Math.round(evaluation.drop * 1e6) / 1e6;
      if (
        evaluation.state !== e.row.performance_state ||
        evaluation.ok_since !== e.row.performance_ok_since ||
        drop !== e.row.performance_drop
      ) {
        updates.push({ id: e.row.id, state: evaluation.state, ok_since: evaluation.ok_since, drop });
      }
    }
  }
  if (write) await metrics.setPerformance(updates);
}

/** A deployment whose drift could not be judged, and why: logged, and kept on the deployment. */
export interface DriftError {
  deployment_id: number;
  message: string;
}

/**
 * Judges the inputs of the page's deployments that have live samples: the recent days against
 * the reference (uploaded, or else the first day of samples, kept as the reference from then
 * on), the `drifted` finding added to the others, the verdict kept on each deployment (the
 * reference, the verdict and the events unwritten when `write` is false: a preview). A
 * comparison that cannot run leaves the deployment in the `error` state, with a `drift_error`
 * event saying why when it enters it, and is returned for the sweep's log: drift monitoring is
 * never off without a word.
 */
export async function judgeDrift(
  { drift, deployments }: { drift: DriftStore; deployments: Pick<DeploymentStore, "appendEvents"> },
  evaluated: { row: DeploymentRow; policy: Policy; findings: Finding[] }[],
  at: number,
  write = true,
): Promise<DriftError[]> {
  if (evaluated.length === 0) return [];
  const longest = Math.max(...evaluated.map((e) => e.policy.drift.window_seconds)) * 1000;
  const ids = evaluated.map((e) => e.row.id);
  const samples = await drift.samplesBetween(ids, dayOf(at - longest), at);
  if (samples.size === 0 && evaluated.every((e) => e.row.drift_state === null)) return [];
  const references = await drift.references([...samples.keys()]);
  const updates: { id: number; state: string | null }[] = [];
  const errors: DriftError[] = [];
  const events: NewEvent[] = [];
  for (const e of evaluated) {
    const since = dayOf(at - e.policy.drift.window_seconds * 1000);
    const recent = (samples.get(e.row.id) ?? []).filter((s) => s.day >= since);
    let reference = references.get(e.row.id);
    if (!reference?.length) reference = await firstWindowReference(drift, e.row.id, since, at, write);
    if (recent.length === 0 || !reference?.length) {
      if (e.row.drift_state !== null) updates.push({ id: e.row.id, state: null });
      continue;
    }
    let result: DatasetDrift;
    try {
      result = compareInputs(datasetOf(reference), datasetOf(recent), e.policy);
    } catch (error) {
      // A deployment whose inputs cannot be compared (no feature in common) is reported; the
      // rest of the fleet is still judged.
      if (!(error instanceof InputError)) throw error;
      errors.push({ deployment_id: e.row.id, message: error.message });
      if (e.row.drift_state !== DRIFT_ERROR_STATE) {
        updates.push({ id: e.row.id, state: DRIFT_ERROR_STATE });
        events.push({
          deployment_id: e.row.id,
          model: e.row.model,
          environment: e.row.environment,
          type: "drift_error",
          actor: "tenure:sweep",
          at,
          data: { message: error.message, policy: e.policy.name },
        });
      }
      continue;
    }
    const name = `${e.row.model} ${e.row.model_version} in ${e.row.environment}`;
    const finding = driftFinding(result, name, e.policy.name);
    if (finding) e.findings.push(finding);
    const state = driftStateOf(result);
    if (state !== e.row.drift_state) updates.push({ id: e.row.id, state });
  }
  if (write) {
    await drift.setDriftState(updates);
    await deployments.appendEvents(events);
  }
  return errors;
}

/**
 * The policy's features found in both the reference and the live samples (all of the
 * reference's by default), by its method; a numeric method judges the numeric features and
 * the default rule the others. Throws InputError when there is nothing to compare.
 */
export function compareInputs(reference: Dataset, current: Dataset, policy: Policy): DatasetDrift {
  const wanted = policy.drift.features ?? [...reference.keys()];
  const features = wanted.filter((f) => reference.has(f) && current.has(f));
  if (features.length === 0) {
    throw new InputError(
      policy.drift.features
        ? `none of the policy's drift features (${policy.drift.features.join(", ")}) is in both the reference and the live samples`
        : "the live samples have no feature in common with the reference",
    );
  }
  return compareDatasets(reference, current, {
    columns: features,
    method: policy.drift.method ?? undefined,
    categoriesByDefault: true,
    driftShare: policy.drift.drift_share,
  });
}

/** The first day of a deployment's samples, before `since`, becomes its reference when none was uploaded. */
async function firstWindowReference(
  drift: DriftStore,
  id: number,
  since: number,
  at: number,
  write: boolean,
) {
  const first = await drift.firstDay(id);
  if (first === undefined || first >= since) return undefined;
  const day = [...(await drift.daySamples(id, first)).values()];
  if (day.length === 0) return undefined;
  if (write) await drift.putReference(id, day, "first_window", at);
  return day;
}
