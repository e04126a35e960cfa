import { describe, expect, it } from "vitest";
import { type PairFigures, quantile, summarizePairs } from "./shadow-summary.js";

function pair(
  primary: PairFigures["primary_prediction"],
  shadow: PairFigures["shadow_prediction"],
  latencies: [number, number] = [10, 20],
  statuses: [number, number] = [200, 200],
): PairFigures {
  return {
    primary_prediction: primary,
    shadow_prediction: shadow,
    primary_status: statuses[0],
    shadow_status: statuses[1],
    primary_latency_ms: latencies[0],
    shadow_latency_ms: latencies[1],
  };
}

describe("the shadow summary", () => {
  it("agreement is the share of pairs both answered whose predictions are equal", () => {
    const summary = summarizePairs([
      pair("a", "a"),
      pair("a", "b"),
      pair(true, true),
      pair("a", null, [1, 1], [200, 0]),
    ]);
    expect(summary.pairs).toBe(4);
    expect(summary.both_answered).toBe(3);
    expect(summary.agreement_rate).toBeCloseTo(2 / 3, 15);
    expect(summary.shadow_errors).toBe(1);
    expect(summary.mean_abs_difference).toBeNull();
  });

  it("numbers give the mean absolute and relative difference, leaving a zero primary out of the relative one", () => {
    const summary = summarizePairs([pair(10, 12), pair(4, 3), pair(0, 1)]);
    expect(summary.mean_abs_difference).toBeCloseTo((2 + 1 + 1) / 3, 15);
    expect(summary.mean_rel_difference).toBeCloseTo((0.2 + 0.25) / 2, 15);
  });

  it("latency quantiles are numpy's linear ones, per side", () => {
    const pairs = Array.from({ length: 101 }, (_, i) => pair(1, 1, [i, 2 * i]));
    const summary = summarizePairs(pairs);
    expect(summary.primary_latency_ms).toEqual({ p50: 50, p99: 99 });
    expect(summary.shadow_latency_ms).toEqual({ p50: 100, p99: 198 });
    // numpy.quantile([1, 2, 3, 10], [0.5, 0.99]) = [2.5, 9.79]
    expect(quantile([1, 2, 3, 10], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 10], 0.99)).toBeCloseTo(9.79, 12);
  });

  it("no pairs is all nulls and zeros", () => {
    expect(summarizePairs([])).toMatchObject({
      pairs: 0,
      agreement_rate: null,
      primary_latency_ms: { p50: null, p99: null },
    });
  });
});
