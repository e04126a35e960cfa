import type { Context } from "../context.js";
import { hashSeed, seededNormal, seededRandom } from "../core/reservoir.js";
import type { Actor } from "../registry/actor.js";
import type { Registry } from "../registry/registry.js";
import type { Progress } from "./progress.js";

const DAY = 86_400_000;

/**
 * The demo's policies, written beside its database: TTLs per team and model family, the metric
 * each is judged on, and a data age limit where the world moves fast (ads) or by season.
 */
export const DEMO_POLICIES = `# The policies of Tenure's demo fleet (tenure demo writes this file anew with its database).
defaults:
  max_age: 90d
  review_at: 0.8
  performance: { metric: auc, target: 0.8, window: 1d, min_samples: 200 }
policies:
  - name: risk-models
    match: { owner_team: risk }
    max_age: 120d
    performance: { metric: auc, target: 0.9, window: 1d, min_samples: 500 }
  - name: ads-daily
    match: { model: "ctr-*" }
    max_age: 21d
    max_data_age: 14d
    performance: { metric: auc, target: 0.72, window: 1d, min_samples: 1000 }
  - name: seasonal
    match: { model: "recs-seasonal" }
    max_age: 120d
    max_data_age: 300d
  - name: forecasts
    match: { model: "capacity-forecast" }
    performance: { metric: mape, target: 0.15, direction: lower, window: 1d, min_samples: 50 }
  - name: spell-check
    match: { model: spell-correct }
    exempt: true
    reason: a dictionary model; it does not drift
`;

/** One step of the demo's history, `days_ago` before now. */
type Step =
  | {
      days_ago: number;
      deploy: [model: string, version: string, env: string, team: string];
      role?: "shadow" | "canary";
      data_lag_days?: number;
    }
  | { days_ago: number; golden: [model: string, version: string, env: string] }
  | { days_ago: number; rollback: [model: string, env: string]; reason: string }
  | { days_ago: number; retire: [model: string, version: string, env: string]; reason: string };

/**
 * A fleet with a past: five teams, three environments, ages from days to well over a year,
 * supersessions, a rollback to a golden version, a retirement, a shadow and a canary.
 */
const HISTORY: Step[] = [
  { days_ago: 520, deploy: ["spell-correct", "1.0.0", "production", "search"], data_lag_days: 90 },
  { days_ago: 430, deploy: ["chargeback-lr", "1.4.0", "production", "risk"], data_lag_days: 45 },
  { days_ago: 400, deploy: ["fraud-gbm", "3.0.0", "production", "risk"] },
  { days_ago: 370, deploy: ["anomaly-iforest", "0.4.0", "production", "platform"], data_lag_days: 30 },
  { days_ago: 300, deploy: ["search-ranker", "12.0", "production", "search"] },
  { days_ago: 250, deploy: ["fraud-gbm", "3.1.0", "production", "risk"] },
  { days_ago: 250, deploy: ["recs-seasonal", "2026.spring", "production", "growth"], data_lag_days: 365 },
  { days_ago: 205, deploy: ["churn-xgb", "5.0", "production", "growth"] },
  { days_ago: 180, deploy: ["search-ranker", "12.1", "production", "search"] },
  { days_ago: 172, deploy: ["search-ranker", "12.1", "eu-production", "search"] },
  { days_ago: 160, deploy: ["recs-seasonal", "2026.summer", "production", "growth"], data_lag_days: 365 },
  { days_ago: 131, deploy: ["budget-pacing", "2.0", "production", "ads"] },
  { days_ago: 120, deploy: ["fraud-gbm", "3.2.0", "production", "risk"] },
  { days_ago: 100, golden: ["fraud-gbm", "3.2.0", "production"] },
  { days_ago: 95, deploy: ["churn-xgb", "5.1", "production", "growth"] },
  { days_ago: 81, deploy: ["query-intent", "4.2.0", "production", "search"] },
  { days_ago: 76, deploy: ["aml-graph", "0.9.1", "production", "risk"] },
  { days_ago: 74, deploy: ["bid-shading", "7.1", "production", "ads"] },
  { days_ago: 66, deploy: ["recs-seasonal", "2026.autumn", "production", "growth"], data_lag_days: 365 },
  { days_ago: 61, deploy: ["recs-seasonal", "2026.autumn", "eu-production", "growth"], data_lag_days: 365 },
  { days_ago: 60, golden: ["recs-seasonal", "2026.summer", "production"] },
  { days_ago: 46, deploy: ["capacity-forecast", "1.2", "production", "platform"] },
  { days_ago: 40, deploy: ["fraud-gbm", "3.3.0", "production", "risk"] },
  {
    days_ago: 35,
    rollback: ["fraud-gbm", "production"],
    reason: "3.3.0 doubled false declines on card-not-present",
  },
  { days_ago: 30, deploy: ["search-ranker", "13.0", "production", "search"] },
  { days_ago: 28, deploy: ["log-classifier", "3.0", "staging", "platform"] },
  { days_ago: 24, deploy: ["ctr-dnn", "2026.44", "production", "ads"], data_lag_days: 2 },
  { days_ago: 21, deploy: ["log-classifier", "3.0", "production", "platform"] },
  { days_ago: 17, deploy: ["ctr-dnn", "2026.45", "production", "ads"], data_lag_days: 2 },
  { days_ago: 16, deploy: ["ltv-regressor", "2.3.1", "production", "growth"] },
  { days_ago: 12, retire: ["log-classifier", "3.0", "staging"], reason: "staging check done" },
  { days_ago: 10, deploy: ["churn-xgb", "5.2", "staging", "growth"] },
  { days_ago: 10, deploy: ["ctr-dnn", "2026.46", "production", "ads"], data_lag_days: 2 },
  { days_ago: 8, deploy: ["capacity-forecast", "1.3", "staging", "platform"] },
  { days_ago: 5, deploy: ["fraud-gbm", "3.4.0", "staging", "risk"] },
  { days_ago: 3, deploy: ["ctr-dnn", "2026.47", "production", "ads"], data_lag_days: 2 },
  { days_ago: 3, deploy: ["aml-graph", "1.0.0-rc1", "production", "risk"], role: "shadow" },
  { days_ago: 2, deploy: ["search-ranker", "13.1", "production", "search"], role: "canary" },
  { days_ago: 1, deploy: ["ctr-dnn", "2026.47", "staging", "ads"], data_lag_days: 3 },
];

/**
 * Replays the history into a registry whose clock `setNow` moves, so events carry the dates
 * they would have had. Returns how many deployments it registered.
 */
export async function seedDemoFleet(
  registry: Registry,
  setNow: (ms: number) => void,
  now: number,
  progress?: Progress,
): Promise<number> {
  const actor: Actor = { name: "demo", key_scope: "demo", team: null };
  let deployments = 0;
  const live = new Map<string, number>();
  const cutoffs = new Map<string, string>();
  progress?.start("history ", HISTORY.length);
  for (const step of HISTORY) {
    progress?.increment();
    // A fixed hour keeps the demo's dates readable; the jitter keeps same-day steps in order.
    const at = now - step.days_ago * DAY + (deployments % 7) * 60_000;
    setNow(at);
    if ("deploy" in step) {
      const [model, version, environment, team] = step.deploy;
      // A version has one training_data_cutoff wherever it is deployed.
      const cutoff =
        cutoffs.get(`${model} ${version}`) ?? new Date(at - (step.data_lag_days ?? 21) * DAY).toISOString();
      cutoffs.set(`${model} ${version}`, cutoff);
      const evidence = EVIDENCE[`${model} ${version} ${environment}`] ?? DEFAULT_EVIDENCE;
      const { deployment } = await registry.register(
        {
          model,
          model_version: version,
          environment,
          owner_team: team,
          training_data_cutoff: cutoff,
          deployment_date: new Date(at).toISOString(),
          role: step.role ?? "primary",
          endpoint: `http://${model}.${environment}.svc.internal:8080/predict`,
          // The version's offline evaluation: what its live metric is compared with.
          baseline_metrics: { [evidence.metric]: evidence.start },
        },
        actor,
      );
      live.set(`${model} ${version} ${environment}`, deployment.id);
      deployments++;
    } else if ("golden" in step) {
      const [model, version, environment] = step.golden;
      await registry.setGolden(model, environment, version, actor);
    } else if ("rollback" in step) {
      const [model, environment] = step.rollback;
      await registry.rollback(model, environment, actor, { reason: step.reason });
      deployments++;
    } else {
      const [model, version, environment] = step.retire;
      const id = live.get(`${model} ${version} ${environment}`);
      if (id !== undefined) await registry.retire(id, actor, step.reason);
    }
  }
  setNow(now);
  return deployments;
}

/** What a live deployment's monitoring shows: its metric over its age, and its inputs now. */
interface Evidence {
  metric: "auc" | "mape";
  /** The metric at deployment, which is also the version's offline evaluation (its baseline). */
  start: number;
  /** How the metric moves per year of service: a falling AUC, a rising error. */
  per_year: number;
  /** Labelled predictions a day. */
  samples?: number;
  /** Feature samples against a reference: the same distribution, or shifted away from it. */
  inputs?: "stable" | "shifted";
}

const DEFAULT_EVIDENCE: Evidence = { metric: "auc", start: 0.88, per_year: -0.03 };

/**
 * By `model version environment`. Chosen so every clock and verdict shows: a model on target
 * for over a year, models decaying with age (one past its target), one below target while
 * young, drifted inputs on a young model and on a due one, data older than its policy allows.
 */
const EVIDENCE: Record<string, Evidence> = {
  "spell-correct 1.0.0 production": { metric: "auc", start: 0.97, per_year: -0.005 },
  "chargeback-lr 1.4.0 production": { metric: "auc", start: 0.95, per_year: -0.01, samples: 2000 },
  // Versions since replaced: each decays while it serves, and a newer one starts high again.
  "fraud-gbm 3.0.0 production": { metric: "auc", start: 0.93, per_year: -0.11, samples: 5000 },
  "fraud-gbm 3.1.0 production": { metric: "auc", start: 0.94, per_year: -0.12, samples: 5000 },
  "fraud-gbm 3.3.0 production": { metric: "auc", start: 0.905, per_year: -0.6, samples: 5000 },
  "churn-xgb 5.0 production": { metric: "auc", start: 0.87, per_year: -0.24 },
  "fraud-gbm 3.2.0 production": {
    metric: "auc",
    start: 0.935,
    per_year: -0.04,
    samples: 5000,
    inputs: "stable",
  },
  "fraud-gbm 3.4.0 staging": { metric: "auc", start: 0.94, per_year: 0, samples: 600 },
  "aml-graph 0.9.1 production": { metric: "auc", start: 0.93, per_year: -0.1, samples: 800 },
  "aml-graph 1.0.0-rc1 production": { metric: "auc", start: 0.945, per_year: 0, samples: 800 },
  "anomaly-iforest 0.4.0 production": { metric: "auc", start: 0.9, per_year: -0.16 },
  "search-ranker 12.1 eu-production": { metric: "auc", start: 0.88, per_year: -0.1 },
  "search-ranker 13.0 production": { metric: "auc", start: 0.9, per_year: -0.02, inputs: "stable" },
  "churn-xgb 5.1 production": { metric: "auc", start: 0.86, per_year: -0.2, inputs: "stable" },
  "recs-seasonal 2026.autumn production": {
    metric: "auc",
    start: 0.83,
    per_year: -0.05,
    inputs: "shifted",
  },
  "bid-shading 7.1 production": { metric: "auc", start: 0.84, per_year: -0.04, inputs: "shifted" },
  "ctr-dnn 2026.47 production": {
    metric: "auc",
    start: 0.76,
    per_year: -0.1,
    samples: 20_000,
    inputs: "shifted",
  },
  "ctr-dnn 2026.47 staging": { metric: "auc", start: 0.76, per_year: 0, samples: 2000 },
  "ltv-regressor 2.3.1 production": { metric: "auc", start: 0.76, per_year: -0.05 },
  "capacity-forecast 1.2 production": { metric: "mape", start: 0.1, per_year: 0.02, samples: 96 },
  "capacity-forecast 1.3 staging": { metric: "mape", start: 0.09, per_year: 0, samples: 96 },
};

/**
 * Gives every deployment a day-by-day metric history from its deployment date (to its end for
 * one that ended, so a model's page shows each version decaying in turn) and, where a live
 * deployment's evidence says so, a drift reference and two days of feature samples, through the
 * same calls the HTTP routes make. Dates are relative to `now`.
 */
export async function seedDemoEvidence(context: Context, now: number, progress?: Progress): Promise<void> {
  const actor: Actor = { name: "demo", key_scope: "demo", team: null };
  const deployments = [];
  for (const status of ["active", "superseded", "rolled_back", "retired"] as const) {
    const { items } = await context.registry.list({ status, sort: "-age", limit: 500 });
    deployments.push(...items);
  }
  progress?.start("evidence", deployments.length);
  for (const d of deployments) {
    progress?.increment();
    const evidence = EVIDENCE[`${d.model} ${d.model_version} ${d.environment}`] ?? DEFAULT_EVIDENCE;
    const deployed = Date.parse(d.deployment_date);
    const until = d.ended_at ? Date.parse(d.ended_at) : now;
    const noise = seededRandom(hashSeed(`demo metrics ${d.id}`));
    const points = [];
    for (let at = deployed + DAY / 2; at < until; at += DAY) {
      const years = (at - deployed) / (365 * DAY);
      const value = evidence.start + evidence.per_year * years + (noise() - 0.5) * 0.008;
      const samples = Math.round((evidence.samples ?? 1500) * (0.9 + noise() * 0.2));
      points.push({ name: evidence.metric, value, timestamp: at, sample_size: samples });
    }
    if (points.length > 0) await context.lifecycle.recordMetrics(d.id, actor, points);
    if (evidence.inputs && d.status === "active")
      await seedInputs(context, d.id, evidence.inputs, actor, now);
  }
}

/** A training sample as the reference, then yesterday's and today's traffic. */
async function seedInputs(
  context: Context,
  id: number,
  inputs: "stable" | "shifted",
  actor: Actor,
  now: number,
): Promise<void> {
  const normal = seededNormal(hashSeed(`demo inputs ${id}`));
  const pick = seededRandom(hashSeed(`demo categories ${id}`));
  const rows = (n: number, shift: number) =>
    Array.from({ length: n }, () => ({
      amount: Math.round(Math.exp(3.5 + shift * 0.6 + 0.8 * normal()) * 100) / 100,
      latency_ms: Math.round(40 + shift * 15 + 10 * normal()),
      country: (shift > 0 ? ["us", "us", "br", "br", "in"] : ["de", "fr", "us", "gb", "de"])[
        Math.floor(pick() * 5)
      ] as string,
    }));
  await context.drift.putReference(id, actor, rows(3000, 0));
  const shift = inputs === "shifted" ? 1 : 0;
  for (const hoursAgo of [20, 2]) {
    await context.drift.addSamples(id, actor, rows(800, shift), now - hoursAgo * 3_600_000);
  }
}
