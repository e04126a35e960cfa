import { afterEach, describe, expect, it, vi } from "vitest";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const DAY_S = 86_400;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
/** The fleet's truth: every version starts at 0.95 AUC and loses 0.002 a day, so it crosses 0.9 at 25 days. */
const START = 0.95;
const SLOPE = -0.002;
const POLICIES = `
policies:
  - name: fraud
    match: { model: "fraud-*" }
    max_age: 30d
    review_at: 0.8
    performance: { metric: auc, target: 0.9, window: 1d, min_samples: 100, label_delay: 1d }
  - name: errors
    match: { model: "errors-*" }
    max_age: 90d
    performance: { metric: error_rate, target: 0.08, direction: lower, window: 1d, min_samples: 100 }
  - name: plain
    match: { model: "plain-*" }
    max_age: 60d
`;

describe.each(dialects())("the model page's decay block on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    vi.restoreAllMocks();
    await t?.close();
  });

  const get = async (url: string) => {
    const res = await t.request({ method: "GET", url });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const post = async (url: string, body: unknown) => {
    const res = await t.request({ method: "POST", url, body });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };
  /** Daily points from `from` for `days` days along the fleet's line, with a small alternating noise. */
  const decaying = (from: number, days: number) =>
    Array.from({ length: days }, (_, i) => ({
      name: "auc",
      value: START + SLOPE * (i + 0.5) + (i % 2 === 0 ? 0.0005 : -0.0005),
      timestamp: iso(from + i * DAY + DAY / 2),
      sample_size: 500,
    }));

  it("a decaying fleet gets its learned slope, the TTL it suggests against the current one, and the live version's forecast crossing", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const first = await post(
      "/v1/deployments",
      registration({ model_version: "3.1.0", baseline_metrics: { auc: START } }),
    );
    t.setNow(T0 + 40 * DAY);
    const second = await post(
      "/v1/deployments",
      registration({ model_version: "3.2.0", baseline_metrics: { auc: START } }),
    );
    t.setNow(T0 + 60 * DAY);
    await post(`/v1/deployments/${first.id}/metrics`, { points: decaying(T0, 40) });
    await post(`/v1/deployments/${second.id}/metrics`, { points: decaying(T0 + 40 * DAY, 20) });

    const { decay } = await get("/v1/models/fraud-gbm/performance?environment=production");
    expect(decay).toMatchObject({
      metric: "auc",
      direction: "higher",
      reason: null,
      suggestion_reason: null,
    });
    const curve = decay.curve;
    expect(curve.slope_per_day).toBeCloseTo(SLOPE, 4);
    expect(curve.intercept).toBeCloseTo(START, 3);
    expect(curve.interval_per_day[0]).toBeLessThanOrEqual(curve.slope_per_day);
    expect(curve.interval_per_day[1]).toBeGreaterThanOrEqual(curve.slope_per_day);
    expect(curve.interval_per_day[1] - curve.interval_per_day[0]).toBeLessThan(0.001);
    // The live version's last day is still within its label delay: 40 + 19 judged windows.
    expect(curve).toMatchObject({ consistent: true, based_on_deployments: 2, based_on_windows: 59 });
    expect(curve.spread_per_day[0]).toBeLessThanOrEqual(curve.spread_per_day[1]);

    // Crossing 0.9 after ~25d at the steep end, less 1d of label delay and 7d of lead time.
    const suggestion = decay.suggestion;
    expect(suggestion.current_max_age_seconds).toBe(30 * DAY_S);
    expect(suggestion.suggested_max_age_seconds % DAY_S).toBe(0);
    expect(suggestion.suggested_max_age_seconds).toBeGreaterThanOrEqual(15 * DAY_S);
    expect(suggestion.suggested_max_age_seconds).toBeLessThanOrEqual(17 * DAY_S);
    expect(suggestion.reason).toMatch(
      /^loses 0\.014 auc a week; crosses 0\.9 after ~2[45]d .*instead of 30d$/,
    );
    expect(suggestion.evidence).toMatchObject({
      threshold: 0.9,
      label_delay_seconds: DAY_S,
      lead_time_seconds: 7 * DAY_S,
    });

    // 3.2.0 started at its baseline 0.95 20 days ago: it crosses 0.9 at ~25 days, in ~5.
    const forecast = decay.forecast;
    expect(forecast).toMatchObject({
      deployment_id: second.id,
      model_version: "3.2.0",
      metric: "auc",
      threshold: 0.9,
      based_on_deployments: 2,
      based_on_windows: 59,
    });
    expect(decay.forecast_reason).toBeNull();
    expect(Math.abs(forecast.breach_in_seconds - 5 * DAY_S)).toBeLessThan(0.5 * DAY_S);
    expect(Date.parse(forecast.breach_at)).toBe(T0 + 60 * DAY + forecast.breach_in_seconds * 1000);
    const [soonest, latest] = forecast.interval_seconds;
    expect(soonest).toBeLessThanOrEqual(forecast.breach_in_seconds);
    expect(latest).toBeGreaterThanOrEqual(forecast.breach_in_seconds);
  });

  it("a metric where lower is better: a rising error rate gets a positive slope, a shorter TTL and its crossing", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const rising = (from: number, days: number) =>
      Array.from({ length: days }, (_, i) => ({
        name: "error_rate",
        value: 0.05 + 0.001 * (i + 0.5) + (i % 2 === 0 ? 0.0002 : -0.0002),
        timestamp: iso(from + i * DAY + DAY / 2),
        sample_size: 500,
      }));
    const first = await post("/v1/deployments", registration({ model: "errors-lr", model_version: "1.0" }));
    t.setNow(T0 + 20 * DAY);
    const second = await post("/v1/deployments", registration({ model: "errors-lr", model_version: "1.1" }));
    t.setNow(T0 + 30 * DAY);
    await post(`/v1/deployments/${first.id}/metrics`, { points: rising(T0, 20) });
    await post(`/v1/deployments/${second.id}/metrics`, { points: rising(T0 + 20 * DAY, 10) });

    const { decay } = await get("/v1/models/errors-lr/performance?environment=production");
    expect(decay).toMatchObject({ metric: "error_rate", direction: "lower", reason: null });
    expect(decay.curve.slope_per_day).toBeCloseTo(0.001, 4);
    // From 0.05 at age 0 it reaches 0.08 at ~30 days; 1.1 is 10 days old, so ~20 days remain.
    expect(decay.suggestion.current_max_age_seconds).toBe(90 * DAY_S);
    expect(decay.suggestion.suggested_max_age_seconds).toBeLessThan(30 * DAY_S);
    expect(decay.suggestion.suggested_max_age_seconds).toBeGreaterThanOrEqual(20 * DAY_S);
    expect(decay.forecast).toMatchObject({ model_version: "1.1", threshold: 0.08 });
    expect(Math.abs(decay.forecast.breach_in_seconds - 20 * DAY_S)).toBeLessThan(DAY_S);
  });

  it("a model with too little history has no curve and says why; so does a policy without a performance target", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const only = await post("/v1/deployments", registration({ model: "fraud-tiny", model_version: "1.0" }));
    await post("/v1/deployments", registration({ model: "plain-rules", model_version: "1.0" }));
    t.setNow(T0 + 6 * DAY);
    await post(`/v1/deployments/${only.id}/metrics`, { points: decaying(T0, 6) });

    const tiny = (await get("/v1/models/fraud-tiny/performance?environment=production")).decay;
    expect(tiny).toMatchObject({ metric: "auc", curve: null, suggestion: null, forecast: null });
    expect(tiny.reason).toBe("5 judged auc windows across 1 deployment; a curve needs at least 14");
    expect(tiny.forecast_reason).toBe(tiny.reason);

    const plain = (await get("/v1/models/plain-rules/performance?environment=production")).decay;
    expect(plain).toEqual({
      metric: null,
      direction: null,
      curve: null,
      reason: "its policy plain sets no performance target",
      suggestion: null,
      suggestion_reason: "its policy plain sets no performance target",
      forecast: null,
      forecast_reason: "its policy plain sets no performance target",
    });
  });

  it("the page and its decay block read the windows once when the leading policy judges them alike", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const first = await post("/v1/deployments", registration({ model_version: "3.1.0" }));
    t.setNow(T0 + 40 * DAY);
    const second = await post("/v1/deployments", registration({ model_version: "3.2.0" }));
    t.setNow(T0 + 60 * DAY);
    await post(`/v1/deployments/${first.id}/metrics`, { points: decaying(T0, 40) });
    const latency = [{ name: "latency_ms", value: 12, timestamp: iso(T0 + 59 * DAY), sample_size: 500 }];
    await post(`/v1/deployments/${second.id}/metrics`, {
      points: [...decaying(T0 + 40 * DAY, 20), ...latency],
    });
    const { metrics } = t.context.stores;
    const windows = vi.spyOn(metrics, "windowAggregates");
    const baselines = vi.spyOn(metrics, "baselines");

    const auc = await get("/v1/models/fraud-gbm/performance?environment=production");
    expect(auc.metric).toMatchObject({ name: "auc" });
    expect(auc.decay.curve).toMatchObject({ based_on_deployments: 2, based_on_windows: 59 });
    expect(windows).toHaveBeenCalledTimes(1);
    expect(baselines).toHaveBeenCalledTimes(1);

    // Another metric drawn: the page reads its windows, the curve still reads AUC's.
    windows.mockClear();
    baselines.mockClear();
    const drawn = await get("/v1/models/fraud-gbm/performance?environment=production&metric=latency_ms");
    expect(drawn.metric).toMatchObject({ name: "latency_ms" });
    expect(drawn.decay).toEqual(auc.decay);
    expect(windows.mock.calls.map((call) => call[1])).toEqual(["latency_ms", "auc"]);
    expect(baselines.mock.calls.map((call) => call[1])).toEqual(["latency_ms", "auc"]);
  });
});
