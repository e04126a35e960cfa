import { describe, expect, it } from "vitest";
import {
  type DecayCurve,
  type DeploymentHistory,
  fitDecayCurve,
  levelAt,
  weightedMedian,
} from "./decay-curve.js";
import { type Forecast, forecastBreach } from "./forecast.js";
import { suggestTtl } from "./suggest-ttl.js";

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

/** A deployment that served `days` daily windows, its metric `start + slope × age` plus noise. */
function history(
  id: number,
  deployedDay: number,
  days: number,
  start: number,
  slope: number,
  noise = (i: number) => 0.002 * Math.sin(i * 1.7),
): DeploymentHistory {
  const deployment_date = T0 + deployedDay * DAY;
  return {
    deployment_id: id,
    model_version: `v${id}`,
    deployment_date,
    windows: Array.from({ length: days }, (_, i) => ({
      start: deployment_date + i * DAY,
      end: deployment_date + (i + 1) * DAY,
      mean: start + slope * (i + 0.5) + noise(i),
    })),
  };
}

/** The numbers of `value`, deep, that are NaN or infinite. */
const nonFinite = (value: unknown): unknown[] =>
  typeof value === "number"
    ? Number.isFinite(value)
      ? []
      : [value]
    : value && typeof value === "object"
      ? Object.values(value).flatMap(nonFinite)
      : [];

describe("fitDecayCurve", () => {
  it("learns the slope of versions that decay alike, with an interval around it", () => {
    const fit = fitDecayCurve("auc", "higher", [
      history(1, 0, 40, 0.95, -0.002),
      history(2, 40, 30, 0.96, -0.002),
    ]);
    expect(fit.reason).toBeNull();
    const curve = fit.curve as DecayCurve;
    expect(curve.slope_per_day).toBeCloseTo(-0.002, 3);
    expect(curve.interval_per_day[0]).toBeLessThanOrEqual(curve.slope_per_day);
    expect(curve.interval_per_day[1]).toBeGreaterThanOrEqual(curve.slope_per_day);
    expect(curve.consistent).toBe(true);
    expect(curve.based_on_deployments).toBe(2);
    expect(curve.based_on_windows).toBe(70);
    expect(levelAt(curve, 0)).toBeCloseTo(0.955, 2);
  });

  it("has no curve below min_history, nor from one deployment, and says why", () => {
    const short = fitDecayCurve("auc", "higher", [
      history(1, 0, 5, 0.9, -0.01),
      history(2, 5, 5, 0.9, -0.01),
    ]);
    expect(short.curve).toBeNull();
    expect(short.reason).toBe("10 judged auc windows across 2 deployments; a curve needs at least 14");
    const one = fitDecayCurve("auc", "higher", [history(1, 0, 60, 0.9, -0.01)]);
    expect(one.curve).toBeNull();
    expect(one.reason).toMatch(/^1 deployment with a slope of auc .* needs at least 2$/);
    expect(fitDecayCurve("auc", "higher", []).reason).toMatch(/^0 judged auc windows across 0 deployments/);
  });

  it("leaves out windows before the deployment's date (a skewed clock) and non-finite means", () => {
    const skewed = history(1, 0, 20, 0.9, -0.001);
    const h = { ...skewed, deployment_date: skewed.deployment_date + 10 * DAY };
    const broken = history(2, 30, 20, 0.9, -0.001);
    const withNaN = {
      ...broken,
      windows: broken.windows.map((w, i) => (i % 2 ? { ...w, mean: Number.NaN } : w)),
    };
    const fit = fitDecayCurve("auc", "higher", [h, withNaN], { min_history: 30 });
    expect(fit.curve).toBeNull();
    expect(fit.reason).toBe(
      "20 judged auc windows across 2 deployments; a curve needs at least 30 (10 windows before their deployment's date were left out)",
    );
    const ok = fitDecayCurve("auc", "higher", [h, withNaN]);
    expect(nonFinite(ok)).toEqual([]);
    expect(ok.curve?.based_on_windows).toBe(20);
  });

  it("keeps the spread of versions that decay differently, and widens the interval to it", () => {
    const fit = fitDecayCurve("auc", "higher", [
      history(1, 0, 30, 0.95, -0.0001),
      history(2, 30, 30, 0.95, -0.01),
      history(3, 60, 30, 0.95, 0.004),
    ]);
    const curve = fit.curve as DecayCurve;
    expect(curve.spread_per_day[0]).toBeCloseTo(-0.01, 3);
    expect(curve.spread_per_day[1]).toBeCloseTo(0.004, 3);
    expect(curve.consistent).toBe(false);
    expect(curve.interval_per_day[0]).toBeLessThanOrEqual(curve.spread_per_day[0]);
    expect(curve.interval_per_day[1]).toBeGreaterThanOrEqual(curve.spread_per_day[1]);
  });

  it("pools by the weighted median", () => {
    expect(weightedMedian([1, 2, 3], [1, 1, 1])).toBe(2);
    expect(weightedMedian([1, 2], [1, 1])).toBe(1.5);
    expect(weightedMedian([1, 2, 3], [10, 1, 1])).toBe(1);
    expect(weightedMedian([], [])).toBeNaN();
  });
});

describe("forecastBreach", () => {
  const curve = fitDecayCurve("auc", "higher", [
    history(1, 0, 60, 0.95, -0.002),
    history(2, 60, 60, 0.95, -0.002),
  ]).curve as DecayCurve;

  it("forecasts the crossing of a known linear decay", () => {
    // From 0.95 at −0.002 a day, 0.90 is crossed at 25 days of age.
    const deployment_date = T0 + 200 * DAY;
    const now = deployment_date + 5 * DAY;
    const result = forecastBreach({
      curve,
      deployment_date,
      baseline: 0.95,
      windows: [],
      threshold: 0.9,
      now,
    });
    const f = result.forecast as Forecast;
    const ageDays = (Date.parse(f.breach_at) - deployment_date) / DAY;
    expect(ageDays).toBeGreaterThan(25 * 0.9);
    expect(ageDays).toBeLessThan(25 * 1.1);
    expect(f.breach_in_seconds).toBeCloseTo((ageDays - 5) * 86_400, -1);
    expect(f.interval_seconds[0]).toBeLessThanOrEqual(f.breach_in_seconds);
    expect(f.interval_seconds[1]).toBeGreaterThanOrEqual(f.breach_in_seconds);
    expect(f.based_on_deployments).toBe(2);
    expect(f.based_on_windows).toBe(120);
  });

  it("starts from the first judged windows without a baseline, taken back along the curve to age 0", () => {
    const deployment_date = T0;
    // Windows on the curve from 0.93 at age 0: their mean is 0.93 at their mean age, 1.5 days,
    // less 1.5 days of decay; taken back to age 0 it is 0.93 again.
    const windows = [0, 1, 2].map((i) => ({
      start: T0 + i * DAY,
      end: T0 + (i + 1) * DAY,
      mean: 0.93 + curve.slope_per_day * (i + 0.5),
    }));
    const f = forecastBreach({
      curve,
      deployment_date,
      baseline: null,
      windows,
      threshold: 0.9,
      now: T0 + 3 * DAY,
    }).forecast as Forecast;
    expect((Date.parse(f.breach_at) - T0) / DAY).toBeCloseTo(15, 0);
  });

  it("is null with a reason for a start already below target, a latest window below it, or no decay", () => {
    const base = { curve, deployment_date: T0, windows: [], now: T0 };
    expect(forecastBreach({ ...base, baseline: 0.85, threshold: 0.9 }).reason).toBe(
      "its starting auc 0.85 is already below the threshold 0.9",
    );
    const below = [{ start: T0, end: T0 + DAY, mean: 0.8 }];
    expect(forecastBreach({ ...base, baseline: 0.95, windows: below, threshold: 0.9 }).reason).toBe(
      "its latest judged window (0.8) is already past the threshold 0.9",
    );
    const still = () => 0;
    const improving = fitDecayCurve("auc", "higher", [
      history(1, 0, 30, 0.9, 0.001, still),
      history(2, 30, 30, 0.9, 0.001, still),
    ]).curve as DecayCurve;
    const r = forecastBreach({ ...base, curve: improving, baseline: 0.95, threshold: 0.9 });
    expect(r.forecast).toBeNull();
    expect(r.reason).toMatch(/^auc does not decay with age \(\+0\.001 a day\)/);
    expect(forecastBreach({ ...base, baseline: null, threshold: 0.9 }).reason).toMatch(/no baseline/);
  });

  it("reads a metric whose direction is lower: rising is decay", () => {
    const rmse = fitDecayCurve("rmse", "lower", [history(1, 0, 40, 1.0, 0.01), history(2, 40, 40, 1.0, 0.01)])
      .curve as DecayCurve;
    const f = forecastBreach({
      curve: rmse,
      deployment_date: T0,
      baseline: 1.0,
      windows: [],
      threshold: 1.2,
      now: T0,
    }).forecast as Forecast;
    expect((Date.parse(f.breach_at) - T0) / DAY).toBeCloseTo(20, 0);
    expect(f.interval_seconds[0]).toBeLessThanOrEqual(f.breach_in_seconds);
  });

  it("says 0, never negative, once the curve's crossing is past", () => {
    const f = forecastBreach({
      curve,
      deployment_date: T0,
      baseline: 0.95,
      windows: [],
      threshold: 0.9,
      now: T0 + 100 * DAY,
    }).forecast as Forecast;
    expect(f.breach_in_seconds).toBe(0);
    expect(f.interval_seconds[0]).toBe(0);
  });
});

describe("suggestTtl", () => {
  const options = { label_delay_seconds: 86_400 };

  it("suggests the steep end's crossing less label delay and lead time, in whole days", () => {
    const curve = fitDecayCurve("auc", "higher", [
      history(1, 0, 60, 0.96, -0.004 / 7),
      history(2, 60, 60, 0.96, -0.004 / 7),
    ]).curve as DecayCurve;
    const s = suggestTtl(curve, 0.92, 30 * 86_400, options);
    const [steep, mid] = s.evidence.crossing_age_seconds;
    expect((mid as number) / 86_400).toBeCloseTo(70, 0);
    expect(s.suggested_max_age_seconds % 86_400).toBe(0);
    expect(s.suggested_max_age_seconds).toBe(
      Math.max(7 * 86_400, Math.floor(((steep as number) - 86_400 - 7 * 86_400) / 86_400) * 86_400),
    );
    expect(s.reason).toMatch(
      /^loses 0\.004 auc a week; crosses 0\.92 after ~\d+d .*; suggest \d+d instead of 30d$/,
    );
    expect(s.suggested_max_age_seconds).toBeGreaterThan(50 * 86_400);
    expect(s.suggested_max_age_seconds).toBeLessThanOrEqual(62 * 86_400);
  });

  it("gives a model without measurable decay the longest TTL, and holds the bounds", () => {
    const flat = fitDecayCurve("auc", "higher", [
      history(1, 0, 30, 0.95, 0.0005, () => 0),
      history(2, 30, 30, 0.95, 0.0005, () => 0),
    ]).curve as DecayCurve;
    const s = suggestTtl(flat, 0.9, 90 * 86_400, options);
    expect(s.suggested_max_age_seconds).toBe(365 * 86_400);
    expect(s.reason).toBe("gains 0.0035 auc a week, no measurable decay; suggest 365d instead of 90d");
    const bounded = suggestTtl(flat, 0.9, 90 * 86_400, { ...options, max_suggested_seconds: 120 * 86_400 });
    expect(bounded.suggested_max_age_seconds).toBe(120 * 86_400);
    const fast = fitDecayCurve("auc", "higher", [
      history(1, 0, 30, 0.95, -0.05),
      history(2, 30, 30, 0.95, -0.05),
    ]).curve as DecayCurve;
    expect(suggestTtl(fast, 0.9, 90 * 86_400, options).suggested_max_age_seconds).toBe(7 * 86_400);
  });

  it("never suggests a negative or NaN TTL, even for a model that starts below its target", () => {
    const curve = fitDecayCurve("auc", "higher", [
      history(1, 0, 30, 0.8, -0.001),
      history(2, 30, 30, 0.8, -0.001),
    ]).curve as DecayCurve;
    const s = suggestTtl(curve, 0.9, 90 * 86_400, options);
    expect(s.suggested_max_age_seconds).toBe(7 * 86_400);
    expect(s.reason).toMatch(/already past the threshold 0\.9; suggest 7d instead of 90d/);
    expect(nonFinite(s)).toEqual([]);
  });
});
