import { describe, expect, it } from "vitest";
import type { TimelineView } from "../lifecycle/lifecycle.js";
import { metricChart } from "./metric-chart.js";

type Metric = TimelineView["metrics"][number];
const DAY = 86_400_000;
const START = Date.parse("2026-01-01T00:00:00.000Z");

/** Daily windows with these means, judged against `target` as the performance policy does. */
function metric(
  means: (number | null)[],
  target: number | null,
  direction: "higher" | "lower" = "higher",
): Metric {
  return {
    name: "auc",
    direction,
    target,
    threshold: target,
    baseline: means[0] ?? null,
    state: null,
    windows: means.map((mean, i) => ({
      start: new Date(START + i * DAY).toISOString(),
      end: new Date(START + (i + 1) * DAY).toISOString(),
      samples: 1000,
      mean: mean as number,
      state:
        mean === null || target === null
          ? "ok"
          : (direction === "higher" ? mean < target : mean > target)
            ? "below"
            : "ok",
    })),
  };
}

describe("metricChart", () => {
  it("draws one cell a window when there are fewer windows than cells, scaled to take in the target", () => {
    const chart = metricChart(metric([0.9, 0.88, 0.85, 0.82, 0.78, 0.74], 0.8));
    expect(chart.spark).toBe("█▇▆▄▃▁");
    expect(chart.windows).toBe(6);
    expect(chart.latest).toEqual({ value: 0.74, start: "2026-01-06T00:00:00.000Z" });
    expect(chart.first).toBe("2026-01-01T00:00:00.000Z");
  });

  it("marks under the sparkline the cells below the target and says where the target falls on its scale", () => {
    const chart = metricChart(metric([0.9, 0.88, 0.85, 0.82, 0.78, 0.74], 0.8));
    expect(chart.under).toBe("    ▔▔");
    expect(chart.below).toBe(2);
    expect(chart).toMatchObject({ line: 0.8, lineKind: "target", lineLevel: "▄" });
  });

  it("marks the cells above the target for a metric where lower is better", () => {
    const chart = metricChart(metric([0.1, 0.12, 0.16, 0.2], 0.15, "lower"));
    expect(chart.under).toBe("  ▔▔");
  });

  it("fits a long history into the width, each cell the mean of its windows", () => {
    const means = Array.from({ length: 370 }, (_, i) => 0.9 - i * 0.0005);
    const chart = metricChart(metric(means, 0.8), 40);
    expect([...chart.spark]).toHaveLength(40);
    expect(chart.spark.startsWith("█")).toBe(true);
    expect(chart.spark.endsWith("▁")).toBe(true);
    expect(chart.windows).toBe(370);
  });

  it("leaves a gap where windows are missing, and skips windows without a value", () => {
    const chart = metricChart(metric([0.9, null, 0.7], null));
    expect(chart.spark).toBe("█ ▁");
    expect(chart).toMatchObject({ line: null, lineKind: null, lineLevel: null, under: "   " });
  });

  it("draws nothing for a metric with no windows", () => {
    expect(metricChart(metric([], 0.8))).toMatchObject({ spark: "", latest: null, windows: 0 });
  });
});
