import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { welchTTest } from "./welch-t.js";

const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  ttest_welch: Array<{ x: number[]; y: number[]; statistic: number; df: number; p_value: number }>;
};

function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

describe(`Welch's t-test against scipy.stats.ttest_ind(equal_var=False) ${scipy.scipy}`, () => {
  it("matches the statistic, Welch–Satterthwaite df and two-sided p-value to 1e-10 relative, 2 to 2,500 a side", () => {
    for (const { x, y, statistic, df, p_value } of scipy.ttest_welch) {
      const result = welchTTest(x, y);
      const at = `n=${x.length}/${y.length}`;
      expect(relativeError(result.statistic, statistic), `t ${at}`).toBeLessThanOrEqual(1e-10);
      expect(relativeError(result.df, df), `df ${at}`).toBeLessThanOrEqual(1e-10);
      expect(relativeError(result.p_value, p_value), `p ${at}`).toBeLessThanOrEqual(1e-10);
    }
  });

  it("two equal constant samples are p = 1, two different constant samples p = 0", () => {
    expect(welchTTest([2, 2, 2], [2, 2]).p_value).toBe(1);
    const apart = welchTTest([1, 1], [3, 3, 3]);
    expect(apart.statistic).toBe(Number.NEGATIVE_INFINITY);
    expect(apart.p_value).toBe(0);
  });

  it("refuses a side with fewer than two values", () => {
    expect(() => welchTTest([1], [1, 2])).toThrow(RangeError);
  });
});
