import { describe, expect, it } from "vitest";
import type { Forecast } from "../../src/core/decay/forecast.js";
import { forecastOf } from "../../src/lifecycle/rot-report-source.js";

/**
 * The report reads a deployment's forecast from its age block, in the shape issue 20's forecasts
 * have (src/core/decay/forecast.ts). Until the views carry `age.forecast`, this is where the two
 * meet; the report's content with a forecast is tested in src/core/rot-report.test.ts.
 */
describe("the rot report's reading of age.forecast", () => {
  const forecast: Forecast = {
    metric: "auc",
    breach_at: "2027-01-12T00:00:00.000Z",
    breach_in_seconds: 6 * 86_400,
    interval_seconds: [4 * 86_400, null],
    slope_per_day: -0.004,
    based_on_deployments: 3,
    based_on_windows: 42,
  };

  it("takes a forecast with its reason, as a forecast", () => {
    expect(forecastOf({ stage: "fresh", forecast, forecast_reason: null })).toEqual({
      metric: "auc",
      breach_at: "2027-01-12T00:00:00.000Z",
      breach_in_seconds: 6 * 86_400,
      interval_seconds: [4 * 86_400, null],
      slope_per_day: -0.004,
      source: "forecast",
      reason: null,
    });
  });

  it("reads a null forecast, a missing one, or one that is not a forecast, as none", () => {
    expect(
      forecastOf({ forecast: null, forecast_reason: "no learned curve: 3 judged windows of 14" }),
    ).toBeNull();
    expect(forecastOf({ stage: "fresh" })).toBeNull();
    expect(forecastOf({ forecast: { ...forecast, breach_in_seconds: Number.NaN } })).toBeNull();
    expect(forecastOf({ forecast: { metric: "auc" } })).toBeNull();
    expect(forecastOf(undefined)).toBeNull();
  });
});
