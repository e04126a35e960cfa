import { describe, expect, it } from "vitest";
import { seededNormal } from "../reservoir.js";
import { binCounts, quantileEdges, quantileSorted } from "./binning.js";
import { type ColumnSample, defaultMethod, detectKind, judgeDistance, judgeTest } from "./detect.js";
import { sortedCopy } from "./ks.js";
import { psiNoiseFloor, wassersteinNoiseFloor } from "./noise-floor.js";
import { psi } from "./psi.js";
import { standardDeviation, wassersteinDistance } from "./wasserstein.js";

const numbers = (values: number[]): ColumnSample => ({ kind: "numeric", values: Float64Array.from(values) });
const categories = (counts: Record<string, number>): ColumnSample => ({
  kind: "categorical",
  counts: new Map(Object.entries(counts)),
});

/** A seeded normal generator for the simulations below (mulberry32 + Box–Muller). */
function normals(seed: number): (n: number, shift?: number) => Float64Array {
  const normal = seededNormal(seed);
  return (n, shift = 0) => Float64Array.from({ length: n }, () => shift + normal());
}

describe("column kinds and the default method (Evidently's rule)", () => {
  it("numbers with more than 5 distinct values are numeric; up to 5 categorical; up to 2 binary", () => {
    expect(detectKind(numbers([1, 2, 3]), numbers([4, 5, 6]))).toBe("numeric");
    expect(detectKind(numbers([1, 2, 3]), numbers([4, 5, 5]))).toBe("categorical");
    expect(detectKind(numbers([0, 1, 1]), numbers([0, 0, 1]))).toBe("binary");
    expect(detectKind(categories({ a: 3, b: 1 }), categories({ c: 2 }))).toBe("categorical");
    expect(detectKind(categories({ yes: 3 }), categories({ no: 2 }))).toBe("binary");
  });

  it("up to 1,000 reference rows: KS, chi-square, Z-test; beyond: normed Wasserstein and Jensen–Shannon", () => {
    expect([
      defaultMethod("numeric", 1000),
      defaultMethod("categorical", 1000),
      defaultMethod("binary", 1000),
    ]).toEqual(["ks", "chisquare", "ztest"]);
    expect([
      defaultMethod("numeric", 1001),
      defaultMethod("categorical", 1001),
      defaultMethod("binary", 1001),
    ]).toEqual(["wasserstein", "jensenshannon", "jensenshannon"]);
  });
});

describe("states", () => {
  it("a test drifts at p ≤ 0.05 and is possible up to 0.10", () => {
    expect([
      judgeTest(0.05, 0.05),
      judgeTest(0.0500001, 0.05),
      judgeTest(0.1, 0.05),
      judgeTest(0.11, 0.05),
    ]).toEqual(["drifted", "possible", "possible", "stable"]);
  });

  it("a distance drifts at the threshold only above its noise floor, and is possible from 0.75 × threshold", () => {
    expect(judgeDistance(0.1, 0.1, 0.02)).toBe("drifted");
    expect(judgeDistance(0.3, 0.1, 0.35)).toBe("possible");
    expect(judgeDistance(0.08, 0.1, 0)).toBe("possible");
    expect(judgeDistance(0.07, 0.1, 0)).toBe("stable");
  });
});

describe("noise floors are what no-drift samples of the same sizes stay below 95% of the time", () => {
  const draw = normals(42);

  it("the Wasserstein floor is within 20% of the simulated 95th percentile for 100 vs 100 rows", () => {
    const reference = sortedCopy(draw(5000));
    const floor = wassersteinNoiseFloor(reference, standardDeviation(reference), 100, 100);
    const scores = Float64Array.from({ length: 400 }, () => {
      const a = sortedCopy(draw(100));
      return wassersteinDistance(a, sortedCopy(draw(100))) / standardDeviation(a);
    }).sort();
    const simulated = quantileSorted(scores, 0.95);
    expect(floor / simulated).toBeGreaterThan(0.8);
    expect(floor / simulated).toBeLessThan(1.2);
  });

  it("the PSI floor is within 20% of the simulated 95th percentile for 200 vs 200 rows", () => {
    const scores = Float64Array.from({ length: 400 }, () => {
      const reference = draw(200);
      const edges = quantileEdges(sortedCopy(reference), 10);
      return psi(binCounts(reference, edges), binCounts(draw(200), edges));
    }).sort();
    const ratio = psiNoiseFloor(10, 200, 200) / quantileSorted(scores, 0.95);
    expect(ratio).toBeGreaterThan(0.8);
    expect(ratio).toBeLessThan(1.2);
  });

  it("floors shrink with the sample: 8 rows are far noisier than 1,000", () => {
    const reference = sortedCopy(draw(1000));
    const std = standardDeviation(reference);
    expect(wassersteinNoiseFloor(reference, std, 8, 8)).toBeGreaterThan(0.5);
    expect(wassersteinNoiseFloor(reference, std, 1000, 1000)).toBeLessThan(0.1);
  });
});
