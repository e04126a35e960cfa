import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { normalQuantile } from "./normal-quantile.js";
import { theilSen } from "./theil-sen.js";

interface Case {
  name: string;
  x: number[];
  y: number[];
  alpha: number;
  slope: number | null;
  intercept: number | null;
  low_slope: number | null;
  high_slope: number | null;
}

const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-theilslopes.json", import.meta.url), "utf8"),
) as { scipy: string; theilslopes: Case[]; norm_ppf: [number, number][] };

const close = (actual: number | null | undefined, expected: number | null) => {
  if (expected === null) expect(actual ?? null).toBeNull();
  else expect(actual).toBeCloseTo(expected, 12);
};

describe(`Theil–Sen against scipy.stats.theilslopes ${scipy.scipy}`, () => {
  it.each(scipy.theilslopes.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const fit = theilSen(c.x, c.y, c.alpha);
    close(fit?.slope, c.slope);
    close(fit?.intercept, c.intercept);
    close(fit?.low_slope, c.low_slope);
    close(fit?.high_slope, c.high_slope);
  });

  it("has no fit without two distinct x", () => {
    expect(theilSen([3, 3, 3], [1, 2, 3])).toBeUndefined();
    expect(theilSen([], [])).toBeUndefined();
  });

  it("refuses x and y of different lengths", () => {
    expect(() => theilSen([1, 2], [1])).toThrow(RangeError);
  });
});

describe(`the normal quantile against scipy.stats.norm.ppf ${scipy.scipy}`, () => {
  it.each(scipy.norm_ppf)("ppf(%s)", (p, expected) => {
    expect(normalQuantile(p)).toBeCloseTo(expected, 12);
  });

  it("is ±∞ at 0 and 1 and NaN outside", () => {
    expect(normalQuantile(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(normalQuantile(1)).toBe(Number.POSITIVE_INFINITY);
    expect(normalQuantile(1.5)).toBeNaN();
  });
});
