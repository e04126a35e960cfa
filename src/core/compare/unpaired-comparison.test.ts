import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { compareUnpaired, type LabelledPrediction } from "./unpaired-comparison.js";

const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  canary_classification: Array<{
    primary: LabelledPrediction[];
    canary: LabelledPrediction[];
    errors: [number, number];
    p_value: number;
  }>;
  canary_regression: Array<{
    primary: LabelledPrediction[];
    canary: LabelledPrediction[];
    statistic: number;
    df: number;
    p_value: number;
  }>;
};

function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

const right = (n: number, label = "fraud"): LabelledPrediction[] =>
  Array.from({ length: n }, () => ({ prediction: label, label }));
const wrong = (n: number): LabelledPrediction[] =>
  Array.from({ length: n }, () => ({ prediction: "legit", label: "fraud" }));

describe(`the canary's unpaired comparison against SciPy ${scipy.scipy}`, () => {
  it("classes: counts each side's errors and takes Fisher's exact p-value to 1e-9 relative", () => {
    for (const c of scipy.canary_classification) {
      const result = compareUnpaired(c.primary, c.canary);
      expect(result.kind).toBe("classification");
      expect(result.test).toBe("fisher_exact");
      expect([result.primary.errors, result.canary.errors]).toEqual(c.errors);
      expect(relativeError(result.p_value as number, c.p_value)).toBeLessThanOrEqual(1e-9);
      expect(result.counted).toBe(true);
      const canaryWorse = (result.canary.error_rate as number) > (result.primary.error_rate as number);
      expect(result.worse).toBe(c.p_value < 0.05 && canaryWorse);
    }
  });

  it("numbers: Welch's t-test on the absolute errors matches ttest_ind(equal_var=False) to 1e-10 relative", () => {
    for (const c of scipy.canary_regression) {
      const result = compareUnpaired(c.primary, c.canary);
      expect(result.kind).toBe("regression");
      expect(result.test).toBe("welch_t");
      expect(relativeError(result.t_statistic as number, c.statistic)).toBeLessThanOrEqual(1e-10);
      expect(relativeError(result.df as number, c.df)).toBeLessThanOrEqual(1e-10);
      expect(relativeError(result.p_value as number, c.p_value)).toBeLessThanOrEqual(1e-10);
      expect(result.worse).toBe(c.p_value < 0.05 && c.statistic < 0);
    }
  });

  it("a canary wrong far more often than its primary is significantly worse, and one better is not", () => {
    const worse = compareUnpaired([...right(45), ...wrong(5)], [...right(20), ...wrong(20)]);
    expect(worse).toMatchObject({ counted: true, worse: true });
    expect(worse.canary).toMatchObject({ labelled: 40, errors: 20, error_rate: 0.5 });
    expect(worse.reason).toMatch(
      /significantly worse: Fisher's exact test on the error rates gives p = .* < 0\.05/,
    );
    const better = compareUnpaired([...right(20), ...wrong(20)], [...right(45), ...wrong(5)]);
    expect(better).toMatchObject({ counted: true, worse: false });
    expect(better.reason).toMatch(/significantly better/);
  });

  it("fewer than min_labels on either side does not count, however different the figures", () => {
    const few = compareUnpaired(right(100), wrong(29));
    expect(few).toMatchObject({ counted: false, worse: false, p_value: null, min_labels: 30 });
    expect(few.canary.error_rate).toBe(1);
    expect(few.reason).toMatch(/too few labels to count: 100 on the primary and 29 on the canary/);
    expect(compareUnpaired(right(5), wrong(5), { min_labels: 5 }).counted).toBe(true);
  });

  it("no answer is a wrong class, and a regression label with no number answered is left out and counted", () => {
    const classes = compareUnpaired(right(30), [...right(29), { prediction: null, label: "fraud" }]);
    expect(classes.canary.errors).toBe(1);
    const numbers = compareUnpaired(
      Array.from({ length: 31 }, (_, i) => ({ prediction: i, label: i + 1 })),
      [
        ...Array.from({ length: 30 }, (_, i) => ({ prediction: i, label: i + 1 })),
        { prediction: null, label: 3 },
      ],
    );
    expect(numbers.canary).toMatchObject({ labelled: 30, unusable: 1, mean_abs_error: 1 });
    expect(numbers).toMatchObject({ counted: true, worse: false, p_value: 1 });
  });

  it("no labels at all is its own reason", () => {
    expect(compareUnpaired([], [])).toMatchObject({
      counted: false,
      kind: null,
      reason: "no labelled requests yet",
    });
  });
});
