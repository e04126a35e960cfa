import { describe, expect, it } from "vitest";
import { InputError } from "../errors.js";
import { seededNormal } from "../reservoir.js";
import { compareDatasets, type Dataset } from "./compare.js";
import { type ColumnSample, DRIFT_METHODS } from "./detect.js";

const numbers = (values: ArrayLike<number>): ColumnSample => ({
  kind: "numeric",
  values: Float64Array.from(values),
});
const range = (from: number, count: number, step = 1) =>
  Array.from({ length: count }, (_, i) => from + i * step);
const dataset = (columns: Record<string, ColumnSample>): Dataset => new Map(Object.entries(columns));

/** Deterministic normal draws (mulberry32 + Box–Muller). */
function normals(seed: number): (n: number, shift?: number) => Float64Array {
  const normal = seededNormal(seed);
  return (n, shift = 0) => Float64Array.from({ length: n }, () => shift + normal());
}

describe("comparing datasets", () => {
  it("8 rows never drift, whatever the method, however far apart they are", () => {
    const reference = dataset({ x: numbers(range(0, 8)) });
    const current = dataset({ x: numbers(range(1000, 8)) });
    for (const method of DRIFT_METHODS) {
      const result = compareDatasets(reference, current, { method });
      expect(result.columns[0], method).toMatchObject({ state: "stable", insufficient: true });
      expect(result.dataset_drift).toBe(false);
    }
  });

  it("a million rows from one distribution do not drift on noise: the noise floor is tiny and the score under it", () => {
    const draw = normals(7);
    const result = compareDatasets(
      dataset({ x: numbers(draw(1_000_000)) }),
      dataset({ x: numbers(draw(1_000_000)) }),
    );
    const [column] = result.columns;
    expect(column).toMatchObject({ method: "wasserstein", state: "stable", insufficient: false });
    expect(column?.noise_floor).toBeLessThan(0.01);
    expect(column?.score).toBeLessThan(column?.noise_floor ?? 0);
  });

  it("a shift of half a standard deviation in 5,000 rows drifts by the normed Wasserstein distance", () => {
    const draw = normals(11);
    const result = compareDatasets(
      dataset({ x: numbers(draw(5000)) }),
      dataset({ x: numbers(draw(5000, 0.5)) }),
    );
    expect(result.columns[0]).toMatchObject({ method: "wasserstein", state: "drifted", p_value: null });
    expect(result.columns[0]?.score).toBeGreaterThan(0.4);
    expect(result).toMatchObject({ drifted_share: 1, dataset_drift: true });
  });

  it("50 rows far enough apart to pass the distance threshold but within the noise are only possible", () => {
    const draw = normals(3);
    const result = compareDatasets(
      dataset({ x: numbers(draw(50)) }),
      dataset({ x: numbers(draw(50, 0.15)) }),
      {
        method: "wasserstein",
      },
    );
    const [column] = result.columns;
    expect(column?.score).toBeGreaterThanOrEqual(0.1);
    expect(column?.score).toBeLessThanOrEqual(column?.noise_floor ?? 0);
    expect(column?.state).toBe("possible");
  });

  it("the Benjamini–Hochberg view keeps a strong drift and drops a p = 0.04 among six tested columns", () => {
    const reference = numbers(range(0, 100));
    const result = compareDatasets(
      dataset({ a: reference, b: reference, c: reference, d: reference, e: reference, f: reference }),
      dataset({
        a: numbers(range(60, 100)),
        b: numbers(range(20, 100)),
        c: numbers(range(0.5, 100)),
        d: numbers(range(0.25, 100)),
        e: numbers(range(1, 100)),
        f: numbers(range(0, 100)),
      }),
    );
    const [a, b] = result.columns;
    expect(a).toMatchObject({ method: "ks", state: "drifted", state_adjusted: "drifted" });
    expect(b?.p_value).toBeGreaterThan(0.03);
    expect(b).toMatchObject({ state: "drifted", state_adjusted: "stable" });
    expect(b?.p_value_adjusted).toBeCloseTo((b?.p_value ?? 0) * 3, 12);
    expect(result.drifted_share).toBeCloseTo(2 / 6, 12);
    expect(result.benjamini_hochberg).toEqual({ fdr: 0.05, drifted_share: 1 / 6, dataset_drift: false });
  });

  it("categories use chi2_contingency up to 1,000 rows, counting a category new in the current data", () => {
    const colour = (counts: Record<string, number>): ColumnSample => ({
      kind: "categorical",
      counts: new Map(Object.entries(counts)),
    });
    const result = compareDatasets(
      dataset({ colour: colour({ red: 100, green: 100, blue: 100 }) }),
      dataset({ colour: colour({ red: 100, green: 100, blue: 60, amber: 40 }) }),
    );
    expect(result.columns[0]).toMatchObject({ kind: "categorical", method: "chisquare", state: "drifted" });
  });

  it("refuses a column absent from one side, no common columns, and a numeric method on categories", () => {
    const numeric = dataset({ x: numbers([1, 2, 3]) });
    const other = dataset({ y: numbers([1, 2, 3]) });
    expect(() => compareDatasets(numeric, other)).toThrow(InputError);
    expect(() => compareDatasets(numeric, numeric, { columns: ["z"] })).toThrow(
      /"z" is not in the reference/,
    );
    const categorical = dataset({ x: { kind: "categorical", counts: new Map([["a", 3]]) } });
    expect(() => compareDatasets(categorical, categorical, { method: "ks" })).toThrow(/needs numbers/);
  });

  it("a numeric method named for a dataset of both kinds judges the numbers and leaves the categories to the default rule", () => {
    const draw = normals(5);
    const colour = (counts: Record<string, number>): ColumnSample => ({
      kind: "categorical",
      counts: new Map(Object.entries(counts)),
    });
    const result = compareDatasets(
      dataset({
        amount: numbers(draw(500)),
        country: colour({ de: 250, fr: 250 }),
        tier: colour({ a: 100, b: 100, c: 300 }),
      }),
      dataset({
        amount: numbers(draw(500, 1)),
        country: colour({ de: 450, fr: 50 }),
        tier: colour({ a: 100, b: 100, c: 300 }),
      }),
      { method: "ks", categoriesByDefault: true },
    );
    expect(result.columns).toMatchObject([
      { column: "amount", method: "ks", threshold: 0.05, state: "drifted" },
      { column: "country", kind: "binary", method: "ztest", threshold: 0.05, state: "drifted" },
      { column: "tier", kind: "categorical", method: "chisquare", state: "stable" },
    ]);
    const large = compareDatasets(
      dataset({ country: colour({ de: 2500, fr: 2500 }) }),
      dataset({ country: colour({ de: 2500, fr: 2500 }) }),
      { method: "wasserstein", threshold: 0.3, categoriesByDefault: true },
    );
    expect(large.columns[0]).toMatchObject({ method: "jensenshannon", threshold: 0.1 });
  });
});
