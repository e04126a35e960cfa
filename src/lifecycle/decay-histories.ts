import {
  type DecayFit,
  type DecayOptions,
  type DeploymentHistory,
  fitDecayCurve,
} from "../core/decay/decay-curve.js";
import {
  evaluatePerformance,
  type PerformanceEvaluation,
  type PerformancePolicy,
} from "../core/performance.js";
import type { Policy } from "../core/policy.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { startedDeployments } from "./model-performance.js";

/**
 * What a model's decay curve is learned from: the judged windows of its deployments in one
 * environment (the live one and the versions before it), each judged by the same performance
 * policy — the one of the deployment that leads (the live primary, else the newest) — so every
 * version's windows have the same metric, length, label delay and minimum of samples.
 */

/** One deployment's judged evaluation, as the curve and its forecast read it. */
export interface JudgedHistory {
  row: DeploymentRow;
  baseline: number | null;
  evaluation: PerformanceEvaluation;
  /** Its judged windows (ok or below), oldest first. */
  history: DeploymentHistory;
}

/**
 * The judged histories of `rows` (of any models) for one performance policy: one windows query
 * and one baselines query for all of them.
 */
export async function judgedHistories(
  metrics: Stores["metrics"],
  rows: readonly DeploymentRow[],
  performance: PerformancePolicy,
  now: number,
): Promise<Map<number, JudgedHistory>> {
  const ids = rows.map((r) => r.id);
  const out = new Map<number, JudgedHistory>();
  if (ids.length === 0) return out;
  const [aggregates, baselines] = await Promise.all([
    metrics.windowAggregates(ids, performance.metric, performance.window_seconds * 1000, now + 1),
    metrics.baselines(ids, performance.metric),
  ]);
  for (const row of rows) {
    const baseline = baselines.get(row.id) ?? null;
    const evaluation = evaluatePerformance(aggregates.get(row.id) ?? [], performance, baseline, now);
    const windows = evaluation.windows
      .filter((w) => w.state === "ok" || w.state === "below")
      .map((w) => ({ start: w.start, end: w.end, mean: w.mean }));
    out.set(row.id, {
      row,
      baseline,
      evaluation,
      history: {
        deployment_id: row.id,
        model_version: row.model_version,
        deployment_date: row.deployment_date,
        windows,
      },
    });
  }
  return out;
}

/** A model's curve in one environment, with what it was learned from. */
export interface ModelDecay {
  model: string;
  environment: string;
  /** The deployment whose policy chose the metric: the live primary, else the newest. */
  lead: DeploymentRow | null;
  policy: Policy | null;
  performance: PerformancePolicy | null;
  fit: DecayFit;
  histories: Map<number, JudgedHistory>;
}

/**
 * Learns a model's decay curve in an environment from its started deployments (the newest
 * `MODEL_HISTORY_DEPLOYMENTS`). A model whose leading policy sets no performance target has no
 * curve, and says so.
 */
export async function learnModelDecay(
  stores: Pick<Stores, "pages" | "metrics">,
  policyOf: (row: DeploymentRow) => Policy,
  input: { model: string; environment: string },
  now: number,
  options: Partial<DecayOptions> = {},
): Promise<ModelDecay> {
  const rows = await startedDeployments(stores, input.model, input.environment, now);
  return decayOf(stores.metrics, policyOf, input, rows, now, options);
}

/** The curve of one model in one environment from rows already read (its started deployments). */
export async function decayOf(
  metrics: Stores["metrics"],
  policyOf: (row: DeploymentRow) => Policy,
  input: { model: string; environment: string },
  rows: readonly DeploymentRow[],
  now: number,
  options: Partial<DecayOptions> = {},
): Promise<ModelDecay> {
  const [decay] = await decaysOf(metrics, policyOf, [{ ...input, rows }], now, options);
  return decay as ModelDecay;
}

/**
 * The curves of many models (each in one environment, from its started deployments): the models
 * whose leads share a performance policy are judged together, one windows query and one
 * baselines query per performance policy rather than per model.
 */
export async function decaysOf(
  metrics: Stores["metrics"],
  policyOf: (row: DeploymentRow) => Policy,
  groups: readonly { model: string; environment: string; rows: readonly DeploymentRow[] }[],
  now: number,
  options: Partial<DecayOptions> = {},
): Promise<ModelDecay[]> {
  const bases = groups.map(({ model, environment, rows }) => {
    const lead = rows.findLast((r) => r.status === "active" && r.role === "primary") ?? rows.at(-1) ?? null;
    const policy = lead ? policyOf(lead) : null;
    return { model, environment, rows, lead, policy, performance: policy?.performance ?? null };
  });
  const byPerformance = new Map<PerformancePolicy, DeploymentRow[]>();
  for (const b of bases) {
    if (!b.lead || !b.performance) continue;
    const rows = byPerformance.get(b.performance) ?? [];
    rows.push(...b.rows);
    byPerformance.set(b.performance, rows);
  }
  const judged = new Map<PerformancePolicy, Map<number, JudgedHistory>>();
  await Promise.all(
    [...byPerformance].map(async ([performance, rows]) =>
      judged.set(performance, await judgedHistories(metrics, rows, performance, now)),
    ),
  );
  return bases.map(({ rows, ...base }) => {
    const { lead, policy, performance } = base;
    if (!lead || !policy) {
      return { ...base, fit: { curve: null, reason: "no deployment has started" }, histories: new Map() };
    }
    if (!performance) {
      return {
        ...base,
        fit: { curve: null, reason: `its policy ${policy.name} sets no performance target` },
        histories: new Map(),
      };
    }
    const all = judged.get(performance) ?? new Map<number, JudgedHistory>();
    const histories = new Map<number, JudgedHistory>();
    for (const row of rows) {
      const h = all.get(row.id);
      if (h) histories.set(row.id, h);
    }
    const fit = fitDecayCurve(
      performance.metric,
      performance.direction,
      [...histories.values()].map((h) => h.history),
      options,
    );
    return { ...base, fit, histories };
  });
}
