import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { benjaminiHochberg } from "./benjamini-hochberg.js";

const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  benjamini_hochberg: Array<{ pvalues: number[]; adjusted: number[] }>;
};

describe(`Benjamini–Hochberg against scipy.stats.false_discovery_control ${scipy.scipy}`, () => {
  it.each(scipy.benjamini_hochberg.map((c) => [c.pvalues.length, c] as const))(
    "%s p-values adjust exactly as SciPy adjusts them",
    (_, c) => {
      const adjusted = benjaminiHochberg(c.pvalues);
      adjusted.forEach((p, i) => {
        expect(Math.abs(p - (c.adjusted[i] as number))).toBeLessThanOrEqual(1e-15);
      });
    },
  );

  it("fifty columns at p = 0.04 each stay drifted only together, while one p = 0.04 among fifty 0.5s does not", () => {
    expect(benjaminiHochberg(Array(50).fill(0.04)).every((p) => p <= 0.05)).toBe(true);
    const mixed = benjaminiHochberg([0.04, ...Array(49).fill(0.5)]);
    expect(mixed[0]).toBeGreaterThan(0.05);
  });
});
