import { afterEach, describe, expect, it, vi } from "vitest";
import { dialects } from "../support/databases.js";
import { seedVersions } from "../support/decay-fleet.js";
import { getOk, postOk, registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const DAY_S = 86_400;
const T0 = Date.parse("2027-01-01T00:00:00Z");
/** The fleet's truth: every version starts at 0.95 AUC and loses 0.002 a day, so it crosses 0.9 at 25 days. */
const START = 0.95;
const SLOPE = -0.002;
/** A day's AUC along the fleet's line, at the middle of the day, with a small alternating noise. */
const decaying = (day: number) => START + SLOPE * (day + 0.5) + (day % 2 === 0 ? 0.0005 : -0.0005);
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

  const get = (url: string) => getOk(t, url);
  const post = (url: string, body: unknown) => postOk(t, url, body);

  it("a decaying fleet gets its learned slope, the TTL it suggests against the current one, and the live version's forecast crossing", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    // 3.1.0 served 40 days, 3.2.0 the 20 since; the clock stands on day 60.
    const [, second] = await seedVersions(t, {
      model: "fraud-gbm",
      metric: "auc",
      t0: T0,
      versions: [
        { version: "3.1.0", day: 0, days: 40, baseline: START },
        { version: "3.2.0", day: 40, days: 20, baseline: START },
      ],
      level: decaying,
    });

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
      deployment_id: second,
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
    // 1.0 served 20 days, 1.1 the 10 since; the clock stands on day 30.
    await seedVersions(t, {
      model: "errors-lr",
      metric: "error_rate",
      t0: T0,
      versions: [
        { version: "1.0", day: 0, days: 20 },
        { version: "1.1", day: 20, days: 10 },
      ],
      level: (day) => 0.05 + 0.001 * (day + 0.5) + (day % 2 === 0 ? 0.0002 : -0.0002),
    });

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
    await post("/v1/deployments", registration({ model: "plain-rules", model_version: "1.0" }));
    await seedVersions(t, {
      model: "fraud-tiny",
      metric: "auc",
      t0: T0,
      versions: [{ version: "1.0", day: 0, days: 6 }],
      level: decaying,
    });

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
    const [, second] = await seedVersions(t, {
      model: "fraud-gbm",
      metric: "auc",
      t0: T0,
      versions: [
        { version: "3.1.0", day: 0, days: 40 },
        { version: "3.2.0", day: 40, days: 20 },
      ],
      level: decaying,
    });
    const latency = {
      name: "latency_ms",
      value: 12,
      timestamp: new Date(T0 + 59 * DAY).toISOString(),
      sample_size: 500,
    };
    await post(`/v1/deployments/${second}/metrics`, { points: [latency] });
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
