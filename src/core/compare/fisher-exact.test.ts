import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fisherExact } from "./fisher-exact.js";

const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  fisher_exact: Array<{ table: [[number, number], [number, number]]; p_value: number }>;
};

function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

/** The two-sided p-value by enumerating every table with exact integer binomial coefficients. */
function byHand(a: number, b: number, c: number, d: number): number {
  const choose = (n: number, k: number): bigint => {
    let r = 1n;
    for (let i = 1; i <= k; i++) r = (r * BigInt(n - k + i)) / BigInt(i);
    return r;
  };
  const r1 = a + b;
  const r2 = c + d;
  const c1 = a + c;
  const weight = (x: number) => choose(r1, x) * choose(r2, c1 - x);
  const observed = weight(a);
  let tail = 0n;
  for (let x = Math.max(0, c1 - r2); x <= Math.min(r1, c1); x++) if (weight(x) <= observed) tail += weight(x);
  return Number((tail * 10n ** 18n) / choose(r1 + r2, c1)) / 1e18;
}

describe("Fisher's exact test", () => {
  it(`matches scipy.stats.fisher_exact ${scipy.scipy} (two-sided) to 1e-9 relative, tables of 2 to 150,000`, () => {
    for (const { table, p_value } of scipy.fisher_exact) {
      const [[a, b], [c, d]] = table;
      expect(relativeError(fisherExact(a, b, c, d), p_value), JSON.stringify(table)).toBeLessThanOrEqual(
        1e-9,
      );
    }
  });

  it("equals the sum over every as-likely-or-less table counted with exact integers", () => {
    for (const [a, b, c, d] of [
      [3, 1, 1, 3],
      [0, 10, 4, 6],
      [9, 21, 2, 28],
      [17, 13, 5, 25],
    ] as const) {
      expect(relativeError(fisherExact(a, b, c, d), byHand(a, b, c, d))).toBeLessThanOrEqual(1e-12);
    }
  });

  it("is 1 for a table with an empty row or column, and refuses counts that are not counts", () => {
    expect(fisherExact(0, 0, 3, 4)).toBe(1);
    expect(fisherExact(0, 5, 0, 7)).toBe(1);
    expect(() => fisherExact(-1, 2, 3, 4)).toThrow(RangeError);
    expect(() => fisherExact(1.5, 2, 3, 4)).toThrow(RangeError);
  });
});
