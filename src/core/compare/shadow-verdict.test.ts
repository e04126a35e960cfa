import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type LabelledPair, shadowVerdict } from "./shadow-verdict.js";

const scipy = JSON.parse(
  readFileSync(new URL("./fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as {
  scipy: string;
  classification: Array<{ pairs: LabelledPair[]; b: number; c: number; p_value: number }>;
  regression: Array<{ pairs: LabelledPair[]; statistic: number; p_value: number }>;
};

function relativeError(actual: number, expected: number): number {
  return expected === 0 ? Math.abs(actual) : Math.abs(actual - expected) / Math.abs(expected);
}

function classes(b: number, c: number, both: number): LabelledPair[] {
  const pairs: LabelledPair[] = [];
  for (let i = 0; i < b; i++) pairs.push({ primary_prediction: "a", shadow_prediction: "b", label: "a" });
  for (let i = 0; i < c; i++) pairs.push({ primary_prediction: "b", shadow_prediction: "a", label: "a" });
  for (let i = 0; i < both; i++) pairs.push({ primary_prediction: "a", shadow_prediction: "a", label: "a" });
  return pairs;
}

describe("the shadow verdict", () => {
  it("classification: the counts and McNemar's p-value are SciPy's on the same labelled pairs", () => {
    for (const { pairs, b, c, p_value } of scipy.classification) {
      const verdict = shadowVerdict(pairs, { min_labelled: 10 });
      expect(verdict.kind).toBe("classification");
      expect(verdict.test).toBe("mcnemar_exact");
      expect(verdict.labelled).toBe(pairs.length);
      expect(verdict.primary_right_candidate_wrong).toBe(b);
      expect(verdict.primary_wrong_candidate_right).toBe(c);
      expect(relativeError(verdict.p_value ?? Number.NaN, p_value)).toBeLessThanOrEqual(1e-10);
      const expected = p_value >= 0.05 ? "inconclusive" : c > b ? "candidate_better" : "candidate_worse";
      expect(verdict.verdict).toBe(expected);
    }
  });

  it("regression: the paired t-test on absolute errors is SciPy's, and its sign picks the side", () => {
    const verdicts = scipy.regression.map(({ pairs, statistic, p_value }) => {
      const verdict = shadowVerdict(pairs);
      expect(verdict.kind).toBe("regression");
      expect(verdict.test).toBe("paired_t");
      expect(relativeError(verdict.t_statistic ?? Number.NaN, statistic)).toBeLessThanOrEqual(1e-10);
      expect(relativeError(verdict.p_value ?? Number.NaN, p_value)).toBeLessThanOrEqual(1e-10);
      return verdict.verdict;
    });
    // The fixtures: equal noise, a less noisy candidate, a noisier one, a barely different one.
    expect(verdicts).toEqual(["inconclusive", "candidate_better", "candidate_worse", "inconclusive"]);
  });

  it("a candidate right where the primary was wrong, often enough, is better; the reverse is worse", () => {
    const better = shadowVerdict(classes(2, 20, 100));
    expect(better.verdict).toBe("candidate_better");
    expect(better.primary_accuracy).toBeCloseTo(102 / 122, 12);
    expect(better.candidate_accuracy).toBeCloseTo(120 / 122, 12);
    expect(shadowVerdict(classes(20, 2, 100)).verdict).toBe("candidate_worse");
    expect(shadowVerdict(classes(8, 12, 100)).verdict).toBe("inconclusive");
  });

  it("fewer labelled pairs than the minimum is inconclusive, whatever the p-value", () => {
    const verdict = shadowVerdict(classes(0, 12, 0), { min_labelled: 30 });
    expect(verdict.p_value).toBeLessThan(0.001);
    expect(verdict.verdict).toBe("inconclusive");
    expect(verdict.reason).toContain("fewer than the 30 required");
    expect(shadowVerdict([]).reason).toBe("no labelled pairs yet");
  });

  it("a side that gave no answer is wrong for classes, and left out (counted) for numbers", () => {
    const missing = shadowVerdict([{ primary_prediction: "x", shadow_prediction: null, label: "x" }]);
    expect(missing.primary_right_candidate_wrong).toBe(1);
    const numbers = shadowVerdict([
      { primary_prediction: 1, shadow_prediction: null, label: 1 },
      { primary_prediction: 1, shadow_prediction: 2, label: 1.5 },
    ]);
    expect(numbers.labelled).toBe(1);
    expect(numbers.unusable).toBe(1);
    expect(numbers.primary_mean_abs_error).toBe(0.5);
    expect(numbers.p_value).toBeNull();
  });
});
