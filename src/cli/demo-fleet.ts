import type { Actor } from "../registry/actor.js";
import type { Registry } from "../registry/registry.js";

const DAY = 86_400_000;

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
): Promise<number> {
  const actor: Actor = { name: "demo", key_scope: "demo", team: null };
  let deployments = 0;
  const live = new Map<string, number>();
  const cutoffs = new Map<string, string>();
  for (const step of HISTORY) {
    // A fixed hour keeps the demo's dates readable; the jitter keeps same-day steps in order.
    const at = now - step.days_ago * DAY + (deployments % 7) * 60_000;
    setNow(at);
    if ("deploy" in step) {
      const [model, version, environment, team] = step.deploy;
      // A version has one training_data_cutoff wherever it is deployed.
      const cutoff =
        cutoffs.get(`${model} ${version}`) ?? new Date(at - (step.data_lag_days ?? 21) * DAY).toISOString();
      cutoffs.set(`${model} ${version}`, cutoff);
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
