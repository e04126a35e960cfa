import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { kstwoSf } from "./kolmogorov-distribution.js";
import { KS_MAX_EXACT_N, ksTwoSample, sortedCopy } from "./ks.js";
import { smirnovSf } from "./smirnov.js";

interface NumericCase {
  name: string;
  reference: number[];
  current: number[];
  ks: { statistic: number; pvalue: number };
}
const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  numeric: NumericCase[];
  asymptotic: {
    reference: number[];
    current: number[];
    shifts: Array<{ shift: number; statistic: number; pvalue: number }>;
  };
  kstwo_sf: Array<[number, number, number]>;
  smirnov: Array<[number, number, number]>;
};

/** Relative error, or absolute where SciPy's value is tiny (below 1e-300 only the absolute error means anything). */
function expectClose(actual: number, expected: number, relative: number, what: string): void {
  const error =
    Math.abs(expected) < 1e-300
      ? Math.abs(actual - expected)
      : Math.abs(actual - expected) / Math.abs(expected);
  expect(error, `${what}: ${actual} vs SciPy ${expected}`).toBeLessThanOrEqual(
    Math.abs(expected) < 1e-300 ? 1e-15 : relative,
  );
}

describe(`ks_2samp against SciPy ${scipy.scipy}`, () => {
  it.each(scipy.numeric.map((c) => [c.name, c] as const))(
    "%s: the statistic to 1e-12 and the exact p-value to 1e-9",
    (_, c) => {
      const result = ksTwoSample(sortedCopy(c.reference), sortedCopy(c.current));
      expect(result.method).toBe("exact");
      expectClose(result.statistic, c.ks.statistic, 1e-12, "statistic");
      expectClose(result.pvalue, c.ks.pvalue, 1e-9, "p-value");
    },
  );

  it.each(scipy.asymptotic.shifts.map((s) => [s.shift, s] as const))(
    "12000 vs 15000 rows shifted by %s use the asymptotic kstwo p-value, as SciPy's 'auto' does",
    (shift, expected) => {
      const reference = sortedCopy(scipy.asymptotic.reference);
      const current = sortedCopy(scipy.asymptotic.current.map((x) => x + shift));
      const result = ksTwoSample(reference, current);
      expect(result.method).toBe("asymp");
      expectClose(result.statistic, expected.statistic, 1e-12, "statistic");
      expectClose(result.pvalue, expected.pvalue, 1e-9, "p-value");
    },
  );

  it("switches from exact to asymptotic above 10000 rows in the larger sample", () => {
    const small = sortedCopy([1, 2, 3]);
    expect(ksTwoSample(small, sortedCopy(Array.from({ length: KS_MAX_EXACT_N }, (_, i) => i))).method).toBe(
      "exact",
    );
    expect(
      ksTwoSample(small, sortedCopy(Array.from({ length: KS_MAX_EXACT_N + 1 }, (_, i) => i))).method,
    ).toBe("asymp");
  });

  it("refuses an empty sample, as SciPy does", () => {
    expect(() => ksTwoSample(new Float64Array(0), sortedCopy([1]))).toThrow(/empty/);
  });
});

describe("the Kolmogorov distributions against scipy.stats.kstwo.sf and scipy.special.smirnov", () => {
  it("kstwo.sf over every branch of SciPy's _kolmogn (exact, Durbin, Pomeranz, Pelz-Good, Smirnov) to 1e-9", () => {
    for (const [n, x, expected] of scipy.kstwo_sf)
      expectClose(kstwoSf(x, n), expected, 1e-9, `kstwo.sf(${x}, ${n})`);
  });

  it("smirnov(n, x) from n = 2 to 500000 to 1e-9", () => {
    for (const [n, x, expected] of scipy.smirnov)
      expectClose(smirnovSf(n, x), expected, 1e-9, `smirnov(${n}, ${x})`);
  });
});
