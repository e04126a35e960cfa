import { describe, expect, it } from "vitest";
import type { ForecastCrossing } from "./forecast.js";
import { type ForecastBlockInput, forecastBlock } from "./forecast-block.js";
import { forecastBreachFinding, nextReviewPoint } from "./forecast-finding.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const crossing: ForecastCrossing = {
  metric: "auc",
  breach_at: T0 + 25 * DAY,
  low_at: T0 + 20 * DAY,
  high_at: T0 + 32 * DAY,
  slope_per_day: -0.002,
  based_on_deployments: 3,
  based_on_windows: 70,
};
const input = (review: { at: number; kind: "due" | "expiry" } | null) => ({
  name: "fraud-gbm 3.0 in production",
  crossing,
  threshold: 0.9,
  review,
  policy: "fraud",
});

describe("nextReviewPoint", () => {
  const dates = { due_at: T0 + 48 * DAY, expires_at: T0 + 60 * DAY };
  it("is the due date while fresh, the expiry while due, none once expired or exempt", () => {
    expect(nextReviewPoint(dates, false, T0)).toEqual({ at: dates.due_at, kind: "due" });
    expect(nextReviewPoint(dates, false, dates.due_at)).toEqual({ at: dates.expires_at, kind: "expiry" });
    expect(nextReviewPoint(dates, false, dates.expires_at)).toBeNull();
    expect(nextReviewPoint(dates, true, T0)).toBeNull();
  });
});

describe("forecastBreachFinding", () => {
  it("is raised when the earliest crossing comes before the review point, with the numbers", () => {
    const finding = forecastBreachFinding(input({ at: T0 + 48 * DAY, kind: "due" }), T0 + 10 * DAY);
    expect(finding).toMatchObject({
      kind: "forecast_breach",
      severity: "warning",
      detail: {
        metric: "auc",
        breach_at: "2027-01-26T00:00:00.000Z",
        breach_in_seconds: 15 * 86_400,
        interval_seconds: [10 * 86_400, 22 * 86_400],
        threshold: 0.9,
        review_point: "2027-02-18T00:00:00.000Z",
        policy: "fraud",
      },
    });
    expect(finding?.summary).toBe(
      "fraud-gbm 3.0 in production is forecast to cross its auc threshold 0.9 in ~15d (10d–22d), before its review point in 38d",
    );
    expect(finding?.detail.reason).toBe(
      "its model's auc moves −0.002 a day of age (3 deployments, 70 judged windows), so it crosses 0.9 in ~15d and at the earliest in 10d, before its review point in 38d",
    );
  });

  it("is not raised when the review point comes first, nor without one", () => {
    expect(forecastBreachFinding(input({ at: T0 + 20 * DAY, kind: "due" }), T0)).toBeUndefined();
    expect(forecastBreachFinding(input({ at: T0 + 16 * DAY, kind: "expiry" }), T0)).toBeUndefined();
    expect(forecastBreachFinding(input(null), T0)).toBeUndefined();
  });
});

describe("forecastBlock", () => {
  const stored = { ...crossing, computed_at: T0 };
  const policy = { name: "fraud", performance: { metric: "auc" } };
  it("counts down from the stored crossing, never below 0", () => {
    const at = (now: number) => forecastBlock({ status: "active", stored, policy }, now).forecast;
    expect(at(T0 + 10 * DAY)).toMatchObject({
      breach_in_seconds: 15 * 86_400,
      interval_seconds: [10 * 86_400, 22 * 86_400],
    });
    expect(at(T0 + 40 * DAY)).toMatchObject({ breach_in_seconds: 0, interval_seconds: [0, 0] });
    const never = forecastBlock(
      { status: "active", stored: { ...stored, high_at: null }, policy },
      T0,
    ).forecast;
    expect(never?.interval_seconds).toEqual([20 * 86_400, null]);
  });

  it("is null with the reason: ended, not started, no target, not swept, unreadable, none found, another metric", () => {
    const reason = (
      status: string,
      s: typeof stored | { reason: string; computed_at: number } | { unreadable: string } | null,
      p: ForecastBlockInput["policy"] = policy,
    ) => forecastBlock({ status, stored: s, policy: p }, T0).forecast_reason;
    expect(reason("retired", stored)).toBe("it has ended: only a live deployment is forecast");
    expect(reason("scheduled", stored)).toBe("it has not started: only a live deployment is forecast");
    expect(reason("active", stored, { name: "plain", performance: null })).toBe(
      "its policy plain sets no performance target",
    );
    expect(reason("active", null)).toBe("no sweep has forecast it yet");
    expect(reason("active", { unreadable: "the stored forecast is not JSON" })).toBe(
      "its stored forecast cannot be read (the stored forecast is not JSON): the next sweep forecasts it again",
    );
    expect(reason("retired", { unreadable: "the stored forecast is not JSON" })).toBe(
      "it has ended: only a live deployment is forecast",
    );
    expect(reason("active", { reason: "auc does not decay with age", computed_at: T0 })).toBe(
      "auc does not decay with age",
    );
    expect(reason("active", stored, { name: "fraud", performance: { metric: "recall" } })).toBe(
      "its policy fraud now judges recall, not auc: the next sweep forecasts it",
    );
  });
});
