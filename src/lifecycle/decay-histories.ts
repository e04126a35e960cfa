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
import type { MetricReads } from "./shared-metric-reads.js";
import { startedDeployments } from "./started-deployments.js";

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
  metrics: MetricReads,
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
  metrics: MetricReads,
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
 * The deployment whose policy judges a model's curve (the live primary, else the newest), its
 * policy and performance target; the reason there is no curve to learn when it has none.
 */
function leading(
  input: { model: string; environment: string },
  rows: readonly DeploymentRow[],
  policyOf: (row: DeploymentRow) => Policy,
): {
  decay: Omit<ModelDecay, "fit" | "histories">;
  performance: PerformancePolicy | null;
  reason: string | null;
} {
  const lead = rows.findLast((r) => r.status === "active" && r.role === "primary") ?? rows.at(-1) ?? null;
  const policy = lead ? policyOf(lead) : null;
  const performance = policy?.performance ?? null;
  const decay = { model: input.model, environment: input.environment, lead, policy, performance };
  const reason =
    !lead || !policy
      ? "no deployment has started"
      : !performance
        ? `its policy ${policy.name} sets no performance target`
        : null;
  return { decay, performance, reason };
}

/** The key of a model in an environment (ModelDecays.byKey). */
export function decayKey(input: { model: string; environment: string }): string {
  return `${input.model}\u0000${input.environment}`;
}

/**
 * What a model's curve depends on besides its started deployments and the time: the performance
 * policy of the deployment that leads (metric, direction, window, label delay, minimum of samples,
 * target, reference windows), or why there is none. The same rows and inputs give the same curve (see
 * ModelDecays); `decaysOf` judges together the models whose inputs are the same.
 */
export function decayInputs(
  rows: readonly DeploymentRow[],
  policyOf: (row: DeploymentRow) => Policy,
): string {
  const { performance, reason } = leading({ model: "", environment: "" }, rows, policyOf);
  return inputsKey(performance, reason);
}

const inputsKey = (performance: PerformancePolicy | null, reason: string | null): string =>
  JSON.stringify({ performance, reason });

/** Deployments whose windows one metric query reads at most, so its parameters stay bounded. */
const DEPLOYMENTS_PER_QUERY = 1000;

/**
 * The curves of many models (each in one environment, from its started deployments): the models
 * whose leads share a performance policy are judged together, one windows query and one
 * baselines query per performance policy (per 1,000 deployments) rather than per model.
 */
export async function decaysOf(
  metrics: MetricReads,
  policyOf: (row: DeploymentRow) => Policy,
  groups: readonly { model: string; environment: string; rows: readonly DeploymentRow[] }[],
  now: number,
  options: Partial<DecayOptions> = {},
): Promise<ModelDecay[]> {
  const bases = groups.map(({ model, environment, rows }) => ({
    rows,
    ...leading({ model, environment }, rows, policyOf),
  }));
  const byPerformance = new Map<string, { performance: PerformancePolicy; rows: DeploymentRow[] }>();
  for (const b of bases) {
    if (b.reason !== null || !b.performance) continue;
    const key = inputsKey(b.performance, b.reason);
    const bucket = byPerformance.get(key) ?? { performance: b.performance, rows: [] };
    bucket.rows.push(...b.rows);
    byPerformance.set(key, bucket);
  }
  const judged = new Map<string, Map<number, JudgedHistory>>();
  for (const [key, { performance, rows }] of byPerformance) {
    const histories = new Map<number, JudgedHistory>();
    for (let i = 0; i < rows.length; i += DEPLOYMENTS_PER_QUERY) {
      const chunk = rows.slice(i, i + DEPLOYMENTS_PER_QUERY);
      for (const [id, h] of await judgedHistories(metrics, chunk, performance, now)) histories.set(id, h);
    }
    judged.set(key, histories);
  }
  return bases.map(({ rows, decay, performance, reason }) => {
    if (reason !== null || !performance) {
      return {
        ...decay,
        fit: { curve: null, reason: reason ?? "no performance target" },
        histories: new Map(),
      };
    }
    const all = judged.get(inputsKey(performance, reason)) ?? new Map<number, JudgedHistory>();
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
    return { ...decay, fit, histories };
  });
}
