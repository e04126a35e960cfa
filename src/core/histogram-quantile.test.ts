import { describe, expect, it } from "vitest";
import { histogramQuantile } from "./histogram-quantile.js";

const BOUNDS = [10, 20, 50, 100];

describe("histogramQuantile", () => {
  it("interpolates linearly within the bucket that holds the rank, as Prometheus does", () => {
    // 100 observations: 50 in (0, 10], 40 in (10, 20], 10 in (20, 50].
    const buckets = [50, 40, 10, 0, 0];
    expect(histogramQuantile(0.5, BOUNDS, buckets)).toBe(10);
    // Rank 75 is 25 of the 40 in (10, 20]: 10 + 10 × 25/40.
    expect(histogramQuantile(0.75, BOUNDS, buckets)).toBeCloseTo(16.25, 12);
    // Rank 99 is 9 of the 10 in (20, 50]: 20 + 30 × 9/10.
    expect(histogramQuantile(0.99, BOUNDS, buckets)).toBeCloseTo(47, 12);
    expect(histogramQuantile(1, BOUNDS, buckets)).toBe(50);
  });

  it("starts the first bucket at 0", () => {
    expect(histogramQuantile(0.5, BOUNDS, [4, 0, 0, 0, 0])).toBe(5);
  });

  it("answers the last bound for a rank in the overflow bucket", () => {
    expect(histogramQuantile(0.99, BOUNDS, [1, 0, 0, 0, 99])).toBe(100);
  });

  it("skips empty buckets: q = 0 is where the first observations start", () => {
    expect(histogramQuantile(0, BOUNDS, [0, 0, 3, 0, 0])).toBe(20);
    expect(histogramQuantile(0.5, BOUNDS, [0, 0, 2, 2, 0])).toBe(50);
  });

  it("has no quantile for an empty histogram", () => {
    expect(histogramQuantile(0.99, BOUNDS, [0, 0, 0, 0, 0])).toBeNull();
  });

  it("refuses a quantile outside [0, 1] and buckets that do not fit the bounds", () => {
    expect(() => histogramQuantile(1.5, BOUNDS, [1, 0, 0, 0, 0])).toThrow(RangeError);
    expect(() => histogramQuantile(Number.NaN, BOUNDS, [1, 0, 0, 0, 0])).toThrow(RangeError);
    expect(() => histogramQuantile(0.5, BOUNDS, [1, 0, 0, 0])).toThrow(RangeError);
  });
});
