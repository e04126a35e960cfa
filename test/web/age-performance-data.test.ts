import { describe, expect, it } from "vitest";
import { chartData } from "../../web/src/pages/model/age-performance-data.js";
import type { DeploymentPerformance, ModelPerformance } from "../../web/src/pages/model/model-types.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

function deployment(
  id: number,
  from: number,
  to: number | null,
  means: number[],
  overrides: Partial<DeploymentPerformance> = {},
): DeploymentPerformance {
  return {
    deployment_id: id,
    model_version: `1.${id}`,
    role: "primary",
    status: to === null ? "active" : "superseded",
    deployment_date: iso(from),
    ended_at: to === null ? null : iso(to),
    policy: "p",
    ttl_seconds: 10 * 86_400,
    due_at: iso(from + 8 * DAY),
    expires_at: iso(from + 10 * DAY),
    target: 0.9,
    baseline: 0.95,
    threshold: 0.9,
    state: null,
    windows: means.map((mean, i) => ({
      start: iso(from + i * DAY),
      end: iso(from + (i + 1) * DAY),
      samples: 100,
      mean,
      state: mean < 0.9 ? "below" : "ok",
    })),
    ...overrides,
  };
}

const perf = (deployments: DeploymentPerformance[]): ModelPerformance => ({
  model: "m",
  environment: "production",
  metric: { name: "auc", direction: "higher", target: 0.9 },
  metrics: ["auc"],
  deployments,
  decay: {
    metric: "auc",
    direction: "higher",
    curve: null,
    reason: "too little history",
    suggestion: null,
    suggestion_reason: "too little history",
    forecast: null,
    forecast_reason: "too little history",
  },
});

describe("the Age vs Performance chart's data", () => {
  it("draws the age as a sawtooth that starts at 0 on each primary's deployment date, and breaks the metric between them", () => {
    const data = chartData(
      perf([deployment(1, T0, T0 + 3 * DAY, [0.95, 0.92, 0.88]), deployment(2, T0 + 3 * DAY, null, [0.96])]),
      T0 + 4 * DAY,
    );
    const at = (ms: number) => data.x.indexOf(ms / 1000);
    const series = (kind: string) => data.series.find((s) => s.kind === kind)?.values ?? [];
    expect(data.series.map((s) => s.kind)).toEqual(["metric", "below", "target", "baseline", "age"]);
    expect(series("age")[at(T0)]).toBe(0);
    expect(series("age")[at(T0 + 3 * DAY)]).toBe(0);
    expect(series("age")[at(T0 + 3 * DAY) - 1]).toBeCloseTo(3, 4);
    // No metric at the deployments' edges: the line stops at one and starts again after.
    expect(series("metric")[at(T0)]).toBeNull();
    expect(series("metric")[at(T0 + DAY / 2)]).toBe(0.95);
    expect(series("below").filter((v) => v !== null)).toEqual([0.88]);
    expect(
      series("target")
        .filter((v) => v !== null)
        .every((v) => v === 0.9),
    ).toBe(true);
    expect(data.bands.map((b) => [b.version, b.live])).toEqual([
      ["1.1", false],
      ["1.2", true],
    ]);
    expect([...data.x].sort((a, b) => a - b)).toEqual(data.x);
  });

  it("gives a shadow with metrics its own line, and draws no below-target points when none fell below", () => {
    const data = chartData(
      perf([
        deployment(1, T0, null, [0.95, 0.94]),
        deployment(2, T0 + DAY, null, [0.97], { role: "shadow", target: null }),
      ]),
      T0 + 2 * DAY,
    );
    expect(data.series.map((s) => s.label)).toEqual([
      "auc (primary)",
      "target",
      "baseline (offline)",
      "deployment age (days)",
      "auc (shadow 1.2)",
    ]);
  });
});
