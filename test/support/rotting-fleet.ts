import { seededRandom } from "../../src/core/reservoir.js";
import { DAY_MS } from "./seeding.js";
import { postOk, registration, type TestApp } from "./test-app.js";

/**
 * The policy a degraded fraud-gbm answers to, as a policy file's list item: a 30d TTL reviewed at
 * 80%, data older than 60d too old, AUC judged against 0.92 a day late, drifted when half its
 * features are. `more` adds keys to it (`silence_after: 2d`).
 */
export function fraudPolicy(more: string[] = []): string {
  const keys = [
    'match: { model: "fraud-*" }',
    "max_age: 30d",
    "review_at: 0.8",
    "max_data_age: 60d",
    "performance: { metric: auc, target: 0.92, window: 1d, min_samples: 500, label_delay: 1d }",
    "drift: { window: 1d, drift_share: 0.5 }",
    ...more,
  ];
  return `  - name: fraud\n${keys.map((key) => `    ${key}\n`).join("")}`;
}

/** Rows of three features; `shift` moves the amounts and the country mix. */
export function featureRows(n: number, shift: boolean, seed: number) {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    amount: (shift ? 11.5 : 10) + (random() + random() + random() - 1.5),
    country: shift ? (i % 10 === 0 ? "fr" : "de") : i % 3 === 0 ? "de" : "fr",
    flagged: i % 7 === 0,
  }));
}

/**
 * Registers fraud-gbm (team risk, data cut off 2026-12-20, an AUC baseline of 0.95) on the app's
 * clock, with 3000 reference rows. Its id.
 */
export async function registerFraud(t: TestApp): Promise<number> {
  const fraud = await postOk(
    t,
    "/v1/deployments",
    registration({ training_data_cutoff: "2026-12-20", baseline_metrics: { auc: 0.95 } }),
  );
  await postOk(t, `/v1/deployments/${fraud.id}/reference`, { rows: featureRows(3000, false, 1) });
  return fraud.id;
}

/**
 * Registers recs-two-tower 7 of team growth, deployed 100 days before `t0` on data cut off
 * 2026-09-01: long expired under any policy. `overrides` changes the registration (a role). Its id.
 */
export async function registerExpiredRecs(
  t: TestApp,
  t0: number,
  overrides: Record<string, unknown> = {},
): Promise<number> {
  const recs = await postOk(
    t,
    "/v1/deployments",
    registration({
      model: "recs-two-tower",
      model_version: "7",
      owner_team: "growth",
      deployment_date: new Date(t0 - 100 * DAY_MS).toISOString(),
      training_data_cutoff: "2026-09-01",
      ...overrides,
    }),
  );
  return recs.id;
}

/**
 * Degrades and drifts the fraud-gbm `registerFraud` made on `t0`: an hour into day 5 it gets two
 * AUC points a day, 0.95 on days 0 to 3 and 0.9 (below 0.92) on day 4, 3000 shifted rows and, with
 * `heartbeat`, a heartbeat. Then a sweep on day 6, whose answer this is.
 */
export async function degradeAndSweep(
  t: TestApp,
  t0: number,
  fraud: number,
  options: { heartbeat?: boolean } = {},
) {
  const auc = (day: number, value: number) =>
    [0, 12].map((hour) => ({
      name: "auc",
      value,
      timestamp: new Date(t0 + day * DAY_MS + hour * 3_600_000).toISOString(),
      sample_size: 500,
    }));
  t.setNow(t0 + 5 * DAY_MS + 3_600_000);
  await postOk(t, `/v1/deployments/${fraud}/metrics`, {
    points: [...auc(0, 0.95), ...auc(1, 0.95), ...auc(2, 0.95), ...auc(3, 0.95), ...auc(4, 0.9)],
  });
  await postOk(t, `/v1/deployments/${fraud}/samples`, { rows: featureRows(3000, true, 2) });
  if (options.heartbeat) await postOk(t, `/v1/deployments/${fraud}/heartbeat`, {});
  t.setNow(t0 + 6 * DAY_MS);
  return postOk(t, "/v1/sweeps", {});
}
