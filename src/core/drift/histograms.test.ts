import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { binCounts, binCountsSorted, quantileEdges } from "./binning.js";
import { chiSquareContingency, chiSquareGoodnessOfFit } from "./chi-square.js";
import { jensenShannonDistance } from "./jensen-shannon.js";
import { sortedCopy } from "./ks.js";
import { psi } from "./psi.js";
import { standardDeviation, wassersteinDistance } from "./wasserstein.js";
import { twoProportionZTest } from "./z-test.js";

interface NumericCase {
  name: string;
  reference: number[];
  current: number[];
  bins: number;
  wasserstein: number;
  reference_std: number;
  edges: number[];
  reference_counts: number[];
  current_counts: number[];
  psi: number;
  jensenshannon: number;
}
interface CategoricalCase {
  name: string;
  reference_counts: number[];
  current_counts: number[];
  chi2_contingency: { statistic: number; pvalue: number; dof: number };
  chisquare?: { statistic: number; pvalue: number };
  jensenshannon: number;
  psi: number;
}
const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  numeric: NumericCase[];
  asymptotic: {
    reference: number[];
    current: number[];
    shifts: Array<{ shift: number; wasserstein: number }>;
  };
  categorical: CategoricalCase[];
  z_test: Array<{
    reference_positive: number;
    reference_size: number;
    current_positive: number;
    current_size: number;
    statistic: number;
    pvalue: number;
    chi2_uncorrected: number;
  }>;
};

function expectClose(actual: number, expected: number, relative: number, what: string): void {
  const error = expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
  expect(error, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(expected === 0 ? 1e-15 : relative);
}

describe(`numeric distances against SciPy ${scipy.scipy}`, () => {
  it.each(scipy.numeric.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const reference = sortedCopy(c.reference);
    const current = sortedCopy(c.current);
    expectClose(wassersteinDistance(reference, current), c.wasserstein, 1e-12, "wasserstein_distance");
    expectClose(standardDeviation(reference), c.reference_std, 1e-12, "np.std");
    const edges = quantileEdges(reference, c.bins);
    expect([...edges]).toEqual(c.edges);
    const referenceCounts = binCounts(Float64Array.from(c.reference), edges);
    const currentCounts = binCounts(Float64Array.from(c.current), edges);
    expect([...referenceCounts]).toEqual(c.reference_counts);
    expect([...binCountsSorted(reference, edges)]).toEqual(c.reference_counts);
    expect([...currentCounts]).toEqual(c.current_counts);
    expectClose(psi(referenceCounts, currentCounts), c.psi, 1e-12, "PSI");
    expectClose(
      jensenShannonDistance(referenceCounts, currentCounts),
      c.jensenshannon,
      1e-12,
      "jensenshannon",
    );
  });

  it("wasserstein_distance on 12000 vs 15000 rows, shifted, to 1e-12", () => {
    const reference = sortedCopy(scipy.asymptotic.reference);
    for (const { shift, wasserstein } of scipy.asymptotic.shifts) {
      const current = sortedCopy(scipy.asymptotic.current.map((x) => x + shift));
      expectClose(wassersteinDistance(reference, current), wasserstein, 1e-12, `shift ${shift}`);
    }
  });

  it("a value outside the reference's range falls in an end bin", () => {
    const edges = quantileEdges(sortedCopy([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), 4);
    expect([...binCounts(Float64Array.from([-100, 1000]), edges)]).toEqual([1, 0, 0, 1]);
  });

  it("unsorted values are counted into the same bins as sorted ones, by scan (few edges) or search (many), a value on an edge in the lower bin", () => {
    const values = Float64Array.from({ length: 5_000 }, (_, i) => ((i * 7919) % 1000) / 10);
    const sorted = sortedCopy(values);
    for (const bins of [2, 10, 17, 18, 100]) {
      const edges = quantileEdges(sorted, bins);
      expect([...binCounts(values, edges)], `${bins} bins`).toEqual([...binCountsSorted(sorted, edges)]);
    }
    const edges = Float64Array.from([1, 2, 3]);
    expect([...binCounts(Float64Array.from([1, 2, 2.5, 3, 3.5]), edges)]).toEqual([1, 1, 2, 1]);
  });

  it("a large sample is counted by key prefix into the same bins as by comparison: zeros of both signs, infinities, edges sharing a prefix", () => {
    const n = 100_000;
    const special = [
      0,
      -0,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      1,
      1 + 2 ** -52,
      -1e-300,
      5e-324,
    ];
    const values = Float64Array.from({ length: n }, (_, i) =>
      i % 13 === 0 ? (special[i % special.length] as number) : ((i * 7919) % 20_011) / 97 - 100,
    );
    const sorted = sortedCopy(values);
    const edgeSets = [
      ...[2, 10, 17, 18, 100].map((bins) => quantileEdges(sorted, bins)),
      Float64Array.from([-0]),
      Float64Array.from([0]),
      Float64Array.from([-1e-300, 0, 5e-324, 1, 1 + 2 ** -52, 1.0001]),
      Float64Array.from([Number.NEGATIVE_INFINITY, 50, Number.POSITIVE_INFINITY]),
    ];
    for (const edges of edgeSets) {
      expect([...binCounts(values, edges)], `edges ${[...edges]}`).toEqual([
        ...binCountsSorted(sorted, edges),
      ]);
    }
  });

  it("an empty bin counts as a share of 1e-4, so PSI stays finite", () => {
    expect(psi([10, 0], [5, 5])).toBeCloseTo(
      (0.5 - 1) * Math.log(0.5 / 1) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4),
      12,
    );
  });
});

describe(`categorical tests against SciPy ${scipy.scipy}`, () => {
  it.each(scipy.categorical.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const contingency = chiSquareContingency(c.reference_counts, c.current_counts);
    expectClose(contingency.statistic, c.chi2_contingency.statistic, 1e-12, "chi2_contingency statistic");
    expectClose(contingency.pvalue, c.chi2_contingency.pvalue, 1e-9, "chi2_contingency p-value");
    expect(contingency.dof).toBe(c.chi2_contingency.dof);
    if (c.chisquare) {
      const fit = chiSquareGoodnessOfFit(c.reference_counts, c.current_counts);
      expectClose(fit.statistic, c.chisquare.statistic, 1e-12, "chisquare statistic");
      expectClose(fit.pvalue, c.chisquare.pvalue, 1e-9, "chisquare p-value");
    }
    expectClose(
      jensenShannonDistance(c.reference_counts, c.current_counts),
      c.jensenshannon,
      1e-12,
      "jensenshannon",
    );
    expectClose(psi(c.reference_counts, c.current_counts), c.psi, 1e-12, "PSI");
  });

  it.each(
    scipy.z_test.map(
      (z) =>
        [
          `${z.reference_positive}/${z.reference_size} vs ${z.current_positive}/${z.current_size}`,
          z,
        ] as const,
    ),
  )(
    "the two-proportion Z-test, %s, matches 2·norm.sf(|z|), and z² is chi2_contingency without correction",
    (_, z) => {
      const result = twoProportionZTest(
        z.reference_positive,
        z.reference_size,
        z.current_positive,
        z.current_size,
      );
      expectClose(result.statistic, z.statistic, 1e-12, "z");
      expectClose(result.pvalue, z.pvalue, 1e-9, "p-value");
      expectClose(result.statistic ** 2, z.chi2_uncorrected, 1e-12, "z²");
    },
  );

  it("a Z-test on two samples that do not vary finds nothing", () => {
    expect(twoProportionZTest(10, 10, 20, 20)).toEqual({ statistic: 0, pvalue: 1 });
  });
});
