import { describe, expect, it } from "vitest";
import { decayChartData, ttlLine } from "../../web/src/pages/model/decay-data.js";
import type {
  DeploymentPerformance,
  ModelDecay,
  ModelPerformance,
} from "../../web/src/pages/model/model-types.js";

const DAY = 86_400_000;
const DAY_S = 86_400;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function deployment(id: number, from: number, to: number | null, means: number[]): DeploymentPerformance {
  return {
    deployment_id: id,
    model_version: `1.${id}`,
    role: "primary",
    status: to === null ? "active" : "superseded",
    deployment_date: iso(from),
    ended_at: to === null ? null : iso(to),
    policy: "p",
    ttl_seconds: 30 * DAY_S,
    due_at: iso(from + 24 * DAY),
    expires_at: iso(from + 30 * DAY),
    target: 0.9,
    baseline: 0.95,
    threshold: 0.9,
    state: null,
    windows: means.map((mean, i) => ({
      start: iso(from + i * DAY),
      end: iso(from + (i + 1) * DAY),
      samples: 100,
      mean,
      state: i === 0 ? "insufficient_data" : mean < 0.9 ? "below" : "ok",
    })),
  };
}

const CURVE = {
  slope_per_day: -0.002,
  interval_per_day: [-0.003, -0.001] as [number, number],
  intercept: 0.95,
  spread_per_day: [-0.0025, -0.0015] as [number, number],
  consistent: true,
  based_on_deployments: 2,
  based_on_windows: 12,
};

/** Two versions: 1.1 served 10 days, 1.2 is live for 5 (now is T0 + 15d); 1.2 crosses 0.9 at age 25d. */
function perf(decay: Partial<ModelDecay> = {}): ModelPerformance {
  return {
    model: "m",
    environment: "production",
    metric: { name: "auc", direction: "higher", target: 0.9 },
    metrics: ["auc"],
    deployments: [
      deployment(1, T0, T0 + 10 * DAY, [0.95, 0.948, 0.946, 0.944, 0.942, 0.94, 0.938]),
      deployment(2, T0 + 10 * DAY, null, [0.95, 0.948, 0.946, 0.944, 0.942]),
    ],
    decay: {
      metric: "auc",
      direction: "higher",
      curve: CURVE,
      reason: null,
      suggestion: {
        current_max_age_seconds: 30 * DAY_S,
        suggested_max_age_seconds: 9 * DAY_S,
        reason:
          "loses 0.014 auc a week; crosses 0.9 after ~25d (16d at the steep end); suggest 9d instead of 30d",
        evidence: { threshold: 0.9, crossing_age_seconds: [16 * DAY_S, 25 * DAY_S, 50 * DAY_S] },
      },
      suggestion_reason: null,
      forecast: {
        deployment_id: 2,
        model_version: "1.2",
        metric: "auc",
        threshold: 0.9,
        breach_at: iso(T0 + 35 * DAY),
        breach_in_seconds: 20 * DAY_S,
        interval_seconds: [10 * DAY_S, 40 * DAY_S],
        slope_per_day: -0.002,
        based_on_deployments: 2,
        based_on_windows: 12,
      },
      forecast_reason: null,
      ...decay,
    },
  };
}

const NOW = T0 + 15 * DAY;

describe("the decay chart's data", () => {
  it("draws every judged window at its age, the live version apart, and the curve with its interval as straight lines from the intercept", () => {
    const data = decayChartData(perf(), NOW);
    if (!data) throw new Error("no chart data");
    expect(data.series.map((s) => [s.kind, s.label])).toEqual([
      ["live", "1.2 (live)"],
      ["earlier", "earlier versions"],
      ["curve", "decay curve"],
      ["steep", "steep end"],
      ["gentle", "gentle end"],
      ["threshold", "threshold"],
      ["forecast", "forecast (1.2)"],
    ]);
    const of = (kind: string) => data.series.find((s) => s.kind === kind)?.values ?? [];
    // Judged windows only (each first window is insufficient_data), at their midpoints' ages.
    const at = (values: (number | null)[]) =>
      data.x.flatMap((age, i) => (values[i] === null ? [] : [[age, values[i]]]));
    expect(at(of("live"))).toEqual([
      [1.5, 0.948],
      [2.5, 0.946],
      [3.5, 0.944],
      [4.5, 0.942],
    ]);
    expect(at(of("earlier"))).toHaveLength(6);
    data.x.forEach((age, i) => {
      expect(of("curve")[i]).toBeCloseTo(0.95 - 0.002 * age, 12);
      expect(of("steep")[i]).toBeCloseTo(0.95 - 0.003 * age, 12);
      expect(of("gentle")[i]).toBeCloseTo(0.95 - 0.001 * age, 12);
      expect(of("threshold")[i]).toBe(0.9);
    });
    expect(data).toMatchObject({ threshold: 0.9, ttl: 30, suggested: 9, today: 5 });
  });

  it("marks the live version's forecast crossing on the threshold, with its interval in ages and the line from today to it", () => {
    const data = decayChartData(perf(), NOW);
    if (!data) throw new Error("no chart data");
    expect(data.crossing).toEqual({
      of: "forecast",
      age: 25,
      level: 0.9,
      label: "1.2 crosses 2027-02-05 (in ~20d)",
      interval: [15, 45],
      shown: true,
    });
    expect(data.max).toBeGreaterThanOrEqual(25);
    const forecast = data.series.find((s) => s.kind === "forecast")?.values ?? [];
    const drawn = data.x.flatMap((age, i) => (forecast[i] === null ? [] : [[age, forecast[i] as number]]));
    expect(drawn[0]?.[0]).toBe(5);
    expect(drawn[0]?.[1]).toBeCloseTo(0.94, 12);
    expect(drawn.at(-1)?.[0]).toBe(25);
    expect(drawn.at(-1)?.[1]).toBeCloseTo(0.9, 12);
  });

  it("without a forecast marks where the curve itself crosses; a crossing far beyond the rest is named, not drawn", () => {
    const curveOnly = decayChartData(
      perf({ forecast: null, forecast_reason: "its latest window is past" }),
      NOW,
    );
    expect(curveOnly?.crossing).toMatchObject({
      of: "curve",
      age: 25,
      level: 0.9,
      shown: true,
      interval: null,
    });
    expect(curveOnly?.series.some((s) => s.kind === "forecast")).toBe(false);

    const slow = perf();
    slow.decay.forecast = {
      ...(slow.decay.forecast as NonNullable<ModelDecay["forecast"]>),
      breach_at: iso(T0 + 1010 * DAY),
    };
    const data = decayChartData(slow, NOW);
    expect(data?.crossing).toMatchObject({ age: 1000, shown: false });
    expect(data?.max).toBeLessThan(100);
  });

  it("has nothing to draw without a curve, or for a metric the curve is not learned for", () => {
    expect(decayChartData(perf({ curve: null, reason: "too little history" }), NOW)).toBeNull();
    const other = perf();
    other.metric = { name: "precision", direction: "higher", target: null };
    expect(decayChartData(other, NOW)).toBeNull();
  });

  it("puts the suggested TTL beside the current one", () => {
    expect(ttlLine(perf().decay, 30 * DAY_S)).toBe("TTL 30d · suggested 9d");
    const same = perf().decay;
    same.suggestion = {
      ...(same.suggestion as NonNullable<ModelDecay["suggestion"]>),
      suggested_max_age_seconds: 30 * DAY_S,
    };
    expect(ttlLine(same, 30 * DAY_S)).toBe("TTL 30d · suggested: keep it");
    expect(ttlLine(perf({ suggestion: null }).decay, 90 * DAY_S)).toBe("TTL 90d · no suggestion");
  });
});
