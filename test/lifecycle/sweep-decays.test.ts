import { afterEach, describe, expect, it, vi } from "vitest";
import type { Policy } from "../../src/core/policy.js";
import { ModelDecays } from "../../src/lifecycle/model-decays.js";
import { Sweeper } from "../../src/lifecycle/sweeper.js";
import type { DeploymentRow } from "../../src/store/schema.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** Every model is `auto` and judges AUC against 0.9 with a day's windows: the sweep learns and forecasts. */
const POLICIES = `
defaults:
  max_age: 60d
policies:
  - name: learned
    match: { model: "*" }
    max_age: { auto: { min: 14d, max: 180d, fallback: 60d } }
    review_at: 0.8
    performance: { metric: auc, target: 0.9, window: 1d, min_samples: 100 }
`;

/** AUC that starts at 0.96 and loses 0.002 a day: it crosses 0.9 at ~30d. */
const decaying = (from: number, days: number) =>
  Array.from({ length: days }, (_, i) => ({
    name: "auc",
    value: Number((0.96 - 0.002 * i).toFixed(4)),
    timestamp: iso(from + i * DAY + DAY / 2),
    sample_size: 500,
  }));

describe.each(dialects())("a sweep's decay curves on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    vi.restoreAllMocks();
    await t?.close();
  });

  const post = async (url: string, body: unknown) => {
    const res = await t.request({ method: "POST", url, body });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };

  /** fraud-gbm: 3.1.0 served 30 days, 3.2.0 the 20 since; churn-xgb: one deployment of 9 days. */
  async function seedFleet() {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const first = await post("/v1/deployments", registration({ model_version: "3.1.0" }));
    t.setNow(T0 + 30 * DAY);
    const second = await post("/v1/deployments", registration({ model_version: "3.2.0" }));
    t.setNow(T0 + 41 * DAY);
    const churn = await post(
      "/v1/deployments",
      registration({ model: "churn-xgb", model_version: "1.0.0", owner_team: "growth" }),
    );
    t.setNow(T0 + 50 * DAY);
    await post(`/v1/deployments/${first.id}/metrics`, { points: decaying(T0, 30) });
    await post(`/v1/deployments/${second.id}/metrics`, { points: decaying(T0 + 30 * DAY, 20) });
    await post(`/v1/deployments/${churn.id}/metrics`, { points: decaying(T0 + 41 * DAY, 9) });
    return { first: first.id as number, second: second.id as number, churn: churn.id as number };
  }

  it("learns each model's curve once: the TTL learner and the forecasts share one read of its windows", async () => {
    const ids = await seedFleet();
    const { metrics, forecasts } = t.context.stores;
    const windows = vi.spyOn(metrics, "windowAggregates");
    const started = vi.spyOn(forecasts, "startedDeploymentsOf");

    await post("/v1/sweeps", {});

    // Only a curve reads the ended 3.1.0's windows: the learner's and the forecast's are one read.
    const historyReads = windows.mock.calls.filter(([deploymentIds]) => deploymentIds.includes(ids.first));
    expect(historyReads).toHaveLength(1);
    // The other read is the live deployments' performance, judged once too.
    expect(windows).toHaveBeenCalledTimes(2);
    expect(started).toHaveBeenCalledTimes(1);

    // What both made of it is unchanged: the learned TTL (learned-ttl.test.ts) and the forecast.
    const second = (await t.request({ method: "GET", url: `/v1/deployments/${ids.second}` })).json();
    expect(second.age).toMatchObject({ ttl_seconds: 23 * 86_400, stage: "due" });
    expect(second.age.forecast).toMatchObject({ metric: "auc", based_on_deployments: 2 });
    const churn = (await t.request({ method: "GET", url: `/v1/deployments/${ids.churn}` })).json();
    expect(churn.age.forecast).toBeNull();
    expect(churn.age.forecast_reason).toMatch(/has no decay curve yet: 9 judged auc windows/);
  });

  it("a model judged in a later batch still uses the curve the learner read, and the sweep's outcome is the same", async () => {
    const ids = await seedFleet();
    const { stores, registry, incidents, learnedTtls } = t.context;
    const windows = vi.spyOn(stores.metrics, "windowAggregates");
    // One live deployment a batch: fraud-gbm's 3.2.0 first, churn-xgb's after it.
    const clock = () => T0 + 50 * DAY;
    const sweeper = new Sweeper({ stores, registry, incidents, clock, batchSize: 1, learner: learnedTtls });
    const swept = await sweeper.run({ trigger: "manual", actor: "test" });
    expect(swept).toMatchObject({ state: "done", deployments: 2 });

    // The learner reads both models' windows in one query (they share a performance policy); then
    // each batch reads its live deployment's performance, and no forecast reads any again.
    const read = windows.mock.calls.map(([deploymentIds]) => [...deploymentIds].sort((a, b) => a - b));
    expect(read).toEqual([
      [ids.first, ids.second, ids.churn].sort((a, b) => a - b),
      [ids.second],
      [ids.churn],
    ]);
    const second = (await t.request({ method: "GET", url: `/v1/deployments/${ids.second}` })).json();
    expect(second.age).toMatchObject({ ttl_seconds: 23 * 86_400, stage: "due" });
    expect(second.age.forecast).toMatchObject({ metric: "auc", based_on_deployments: 2 });
    const churn = (await t.request({ method: "GET", url: `/v1/deployments/${ids.churn}` })).json();
    expect(churn.age.forecast_reason).toMatch(/has no decay curve yet: 9 judged auc windows/);
  });

  it("a curve is fitted again, not shared, when the leading deployment's performance policy differs", async () => {
    const ids = await seedFleet();
    const { stores, registry } = t.context;
    const windows = vi.spyOn(stores.metrics, "windowAggregates");
    const daily = (row: DeploymentRow) => registry.policyOf(row);
    const twoDays = (row: DeploymentRow): Policy => {
      const policy = registry.policyOf(row);
      return {
        ...policy,
        performance: policy.performance && { ...policy.performance, window_seconds: 2 * 86_400 },
      };
    };
    const fraud = [{ model: "fraud-gbm", environment: "production" }];
    const decays = new ModelDecays(stores, T0 + 50 * DAY);

    const [byDay] = await decays.decaysOf(daily, fraud);
    const [again] = await decays.decaysOf(daily, fraud);
    expect(windows).toHaveBeenCalledTimes(1);
    expect(again?.decay.fit).toBe(byDay?.decay.fit);

    const [byTwoDays] = await decays.decaysOf(twoDays, fraud);
    expect(windows).toHaveBeenCalledTimes(2);
    expect(byDay?.decay.fit.curve?.based_on_windows).toBe(50);
    expect(byTwoDays?.decay.fit.curve?.based_on_windows).toBeLessThan(50);
    // The curve a sweep that judged by two days' windows alone would have learned.
    const [alone] = await new ModelDecays(stores, T0 + 50 * DAY).decaysOf(twoDays, fraud);
    expect(byTwoDays?.decay.fit).toEqual(alone?.decay.fit);
    expect(byTwoDays?.decay.histories.get(ids.second)?.evaluation.windows).toEqual(
      alone?.decay.histories.get(ids.second)?.evaluation.windows,
    );
  });
});
