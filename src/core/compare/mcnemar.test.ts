import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { binomialCdf } from "./incomplete-beta.js";
import { mcnemarExact } from "./mcnemar.js";

const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  mcnemar: Array<[number, number, number]>;
};

function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

describe("McNemar's exact test", () => {
  it("the binomial CDF at p = ½ equals the sum of binomial coefficients over 2^n, counted exactly", () => {
    for (const n of [1, 2, 5, 12, 30, 61]) {
      for (let k = 0; k <= n; k++) {
        expect(
          relativeError(binomialCdf(k, n, 0.5), exactBinomialCdf(k, n)),
          `Bin(${n}) ≤ ${k}`,
        ).toBeLessThanOrEqual(1e-13);
      }
    }
  });

  it(`matches statsmodels' exact formula on SciPy ${scipy.scipy}'s binomial to 1e-10 relative, up to 40,500 discordant pairs`, () => {
    for (const [b, c, expected] of scipy.mcnemar) {
      expect(relativeError(mcnemarExact(b, c), expected), `mcnemar(${b}, ${c})`).toBeLessThanOrEqual(1e-10);
    }
  });

  it("matches the exact binomial tail counted by hand", () => {
    // b = 3, c = 12: 2 · (C(15,0) + C(15,1) + C(15,2) + C(15,3)) / 2^15 = 2 · 576 / 32768.
    expect(mcnemarExact(3, 12)).toBeCloseTo((2 * 576) / 32768, 15);
    expect(mcnemarExact(12, 3)).toBe(mcnemarExact(3, 12));
    for (const [b, c] of [
      [0, 6],
      [2, 9],
      [10, 25],
      [17, 23],
    ] as const) {
      const expected = Math.min(1, 2 * exactBinomialCdf(Math.min(b, c), b + c));
      expect(relativeError(mcnemarExact(b, c), expected), `mcnemar(${b}, ${c})`).toBeLessThanOrEqual(1e-13);
    }
  });

  it("is 1 with no discordant pairs or a tie, never more", () => {
    expect(mcnemarExact(0, 0)).toBe(1);
    expect(mcnemarExact(7, 7)).toBe(1);
    expect(mcnemarExact(0, 1)).toBe(1);
  });

  it("refuses counts that are not non-negative integers", () => {
    expect(() => mcnemarExact(-1, 2)).toThrow(RangeError);
    expect(() => mcnemarExact(1.5, 2)).toThrow(RangeError);
  });
});

/** Σ_{i ≤ k} C(n, i) / 2^n with integers that do not round. */
function exactBinomialCdf(k: number, n: number): number {
  let coefficient = 1n;
  let sum = 0n;
  for (let i = 0; i <= k; i++) {
    sum += coefficient;
    coefficient = (coefficient * BigInt(n - i)) / BigInt(i + 1);
  }
  // Scale before dividing so the quotient keeps 17 significant digits.
  const scale = 10n ** 40n;
  return Number((sum * scale) / 2n ** BigInt(n)) / 1e40;
}
