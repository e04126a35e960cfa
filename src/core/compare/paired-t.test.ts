import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { pairedTTest } from "./paired-t.js";

const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  ttest_rel: Array<{ x: number[]; y: number[]; statistic: number; df: number; p_value: number }>;
};

function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

describe(`the paired t-test against scipy.stats.ttest_rel ${scipy.scipy}`, () => {
  it("matches the statistic, degrees of freedom and two-sided p-value to 1e-10 relative, 2 to 2,000 pairs", () => {
    for (const { x, y, statistic, df, p_value } of scipy.ttest_rel) {
      const result = pairedTTest(x, y);
      expect(result.df).toBe(df);
      expect(relativeError(result.statistic, statistic), `t for n=${x.length}`).toBeLessThanOrEqual(1e-10);
      expect(relativeError(result.p_value, p_value), `p for n=${x.length}`).toBeLessThanOrEqual(1e-10);
    }
  });

  it("no difference at all is p = 1, a constant non-zero difference is p = 0", () => {
    expect(pairedTTest([1, 2, 3], [1, 2, 3]).p_value).toBe(1);
    const constant = pairedTTest([2, 3, 4], [1, 2, 3]);
    expect(constant.statistic).toBe(Number.POSITIVE_INFINITY);
    expect(constant.p_value).toBe(0);
  });

  it("refuses unpaired or too few samples", () => {
    expect(() => pairedTTest([1, 2], [1])).toThrow(RangeError);
    expect(() => pairedTTest([1], [1])).toThrow(RangeError);
  });
});
