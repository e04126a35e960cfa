import { describe, expect, it } from "vitest";
import { seededRandom } from "../reservoir.js";
import { binCountsSorted, quantileEdges } from "./binning.js";
import { referenceBins } from "./quantile-select.js";

function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** Samples whose quantiles land in every kind of bucket: narrow, huge, tied, at zero, of one value. */
const samples: Array<[string, (random: () => number) => number]> = [
  ["normal, six decimals", (r) => Math.round(normal(r) * 1e6) / 1e6],
  ["lognormal", (r) => Math.exp(2 * normal(r))],
  ["all in one bucket", (r) => 1 + r() / 1e6],
  ["heavy ties", (r) => Math.floor(r() * 4)],
  ["zeros of both signs among few values", (r) => [0, -0, 1, -1, 2][Math.floor(r() * 5)] as number],
  ["mostly zeros", (r) => (r() < 0.7 ? 0 : normal(r))],
  ["wide exponents, both signs", (r) => (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20)],
  ["one value", () => -2.5],
];

describe("quantile bins by selection", () => {
  it.each(samples)("give the edges and counts of a full sort to the bit: %s", (_name, draw) => {
    for (const [n, seed] of [
      [100, 1],
      [5_000, 2],
      [200_001, 3],
    ] as const) {
      const random = seededRandom(seed);
      const values = Float64Array.from({ length: n }, () => draw(random));
      const copy = values.slice();
      const sorted = values.slice().sort();
      for (const bins of [2, 10, 37]) {
        const edges = quantileEdges(sorted, bins);
        const selected = referenceBins(values, bins);
        expect(
          [...selected.edges].map((e) => (Object.is(e, -0) ? "-0" : e)),
          `${n} values, ${bins} bins`,
        ).toEqual([...edges].map((e) => (Object.is(e, -0) ? "-0" : e)));
        expect([...selected.counts], `${n} values, ${bins} bins`).toEqual([
          ...binCountsSorted(sorted, edges),
        ]);
      }
      expect(values, "the values are left as they were").toEqual(copy);
    }
  });
});
