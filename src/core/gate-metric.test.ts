import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fisherExact } from "./compare/fisher-exact.js";
import { welchTTest, welchTTestFromStats } from "./compare/welch-t.js";
import {
  type CandidateMetric,
  compareMetric,
  FISHER_MAX_TABLES,
  figure,
  recentJudgedWindows,
} from "./gate-metric.js";
import type { JudgedWindow, PerformancePolicy } from "./performance.js";

const DAY = 86_400_000;
const options = { min_improvement: 0.005, alpha: 0.05, others_compared: true };

const metric = (changes: Partial<CandidateMetric> = {}): CandidateMetric => ({
  name: "accuracy",
  value: 0.93,
  direction: "higher",
  sample_size: null,
  kind: null,
  values: null,
  judged_by_policy: true,
  ...changes,
});

/** A judged window on day `index` of `samples` observations averaging `mean`. */
const window = (index: number, mean: number, samples = 1000): JudgedWindow => ({
  start: index * DAY,
  end: (index + 1) * DAY,
  samples,
  mean,
  state: "ok",
});

const performance = (changes: Partial<PerformancePolicy> = {}): PerformancePolicy => ({
  metric: "accuracy",
  target: 0.9,
  direction: "higher",
  window_seconds: 86_400,
  min_samples: 100,
  label_delay_seconds: 0,
  clear_after: 3,
  reference_windows: 5,
  ...changes,
});

describe("recentJudgedWindows", () => {
  it("keeps the newest clear_after windows the sweep judges: past the label delay, with min_samples", () => {
    const aggregates = [1, 2, 3, 4, 5, 6].map((index) => ({
      index,
      samples: index === 5 ? 50 : 1000,
      weighted_sum: 0.9 * (index === 5 ? 50 : 1000),
    }));
    // At noon of day 7 with a one-day label delay: day 6 ends after the delay's bound (pending),
    // day 5 has too few samples; the three newest judged are days 2, 3 and 4.
    const recent = recentJudgedWindows(aggregates, performance({ label_delay_seconds: 86_400 }), 7.5 * DAY);
    expect(recent.map((w) => w.start / DAY)).toEqual([2, 3, 4]);
  });

  it("is empty when no window is judged yet", () => {
    expect(
      recentJudgedWindows([{ index: 9, samples: 1000, weighted_sum: 900 }], performance(), 9.5 * DAY),
    ).toEqual([]);
  });
});

describe("compareMetric", () => {
  it("passes a rate better by the margin and significantly so, by Fisher's exact test on the pooled windows", () => {
    const windows = [window(1, 0.9, 2000), window(2, 0.91, 2000), window(3, 0.905, 2000)];
    const check = compareMetric(metric({ sample_size: 5000 }), windows, options);
    // 0.9 × 2000 + 0.91 × 2000 + 0.905 × 2000 = 5430 of 6000; 0.93 × 5000 = 4650 of 5000.
    expect(check).toMatchObject({
      status: "pass",
      primary_value: 0.905,
      primary_sample_size: 6000,
      test: "fisher_exact",
      p_value: fisherExact(4650, 350, 5430, 570),
    });
    expect(check.improvement).toBeCloseTo(0.025, 12);
    expect(check.p_value).toBeLessThan(0.05);
    expect(check.summary).toBe(
      `accuracy 0.93 against the primary's 0.905 (3 windows, 6000 samples): better by 0.025, at least the 0.005 required; ` +
        `Fisher's exact test on 4650 of 5000 against 5430 of 6000 gives p = ${figureP(check.p_value)} < 0.05`,
    );
  });

  it("blocks a rate better by the margin on too few observations: not significant", () => {
    const check = compareMetric(metric({ value: 0.92, sample_size: 200 }), [window(1, 0.9, 300)], options);
    expect(check.status).toBe("fail");
    expect(check.test).toBe("fisher_exact");
    expect(check.p_value).toBeGreaterThanOrEqual(0.05);
    expect(check.summary).toMatch(/better by 0\.02, at least the 0\.005 required; Fisher's .* ≥ 0\.05$/);
  });

  it("blocks a candidate better by less than the margin, however significant", () => {
    const check = compareMetric(
      metric({ value: 0.903, sample_size: 50_000 }),
      [window(1, 0.9, 50_000)],
      options,
    );
    expect(check.status).toBe("fail");
    expect(check.summary).toContain("better by 0.003, less than the 0.005 required");
  });

  it("takes the margin exactly, despite float noise in the difference", () => {
    const check = compareMetric(metric({ value: 0.91 }), [window(1, 0.905)], options);
    expect(check.status).toBe("pass");
    expect(check.summary).toContain("no significance test: the candidate's figures give no sample_size");
  });

  it("respects a metric where lower is better: a lower log loss is the improvement", () => {
    const m = metric({ name: "log_loss", value: 0.31, direction: "lower", kind: "score" });
    const better = compareMetric(m, [window(1, 0.34), window(2, 0.33)], options);
    expect(better.status).toBe("pass");
    expect(better.improvement).toBeCloseTo(0.025, 12);
    expect(better.summary).toContain("lower is better");
    const worse = compareMetric({ ...m, value: 0.36 }, [window(1, 0.34), window(2, 0.33)], options);
    expect(worse.status).toBe("fail");
    expect(worse.summary).toContain("worse by 0.025");
  });

  it("a score with per-fold values is tested by Welch's t-test against the primary's window means", () => {
    const m = metric({ name: "auc", value: 0.95, kind: "score", values: [0.949, 0.951, 0.95, 0.952] });
    const windows = [window(1, 0.9), window(2, 0.91), window(3, 0.905)];
    const check = compareMetric(m, windows, options);
    expect(check.test).toBe("welch_t_windows");
    expect(check.p_value).toBe(welchTTest([0.949, 0.951, 0.95, 0.952], [0.9, 0.91, 0.905]).p_value);
    expect(check.status).toBe("pass");
  });

  it("a score without values has no test: the margin alone decides, and the summary says why", () => {
    const m = metric({ name: "mae", value: 3.1, direction: "lower", sample_size: 1000 });
    const check = compareMetric(m, [window(1, 3.5)], options);
    expect(check).toMatchObject({ status: "pass", test: null, p_value: null });
    expect(check.summary).toContain("no significance test: a score's variance needs its values");
  });

  it("compares rates past FISHER_MAX_TABLES tables by Welch's t-test on the 0/1 outcomes", () => {
    // Two million observations at 91% and 90%: 190,001 tables share their margins.
    const n = 10 * FISHER_MAX_TABLES;
    const check = compareMetric(metric({ value: 0.91, sample_size: n }), [window(1, 0.9, n)], options);
    expect(check.test).toBe("welch_t_rates");
    const stats = (k: number) => ({ mean: k / n, variance: (k * (n - k)) / (n * (n - 1)), n });
    expect(check.p_value).toBe(welchTTestFromStats(stats(910_000), stats(900_000)).p_value);
    expect(check.status).toBe("pass");
  });

  it("keeps Fisher's exact test for a single observation against many: its tables are few", () => {
    const check = compareMetric(metric({ value: 1, sample_size: 1 }), [window(1, 0.9, 1_000_000)], options);
    expect(check).toMatchObject({ test: "fisher_exact", status: "fail" });
  });

  it("a primary with no judged window of the policy's metric blocks; of another metric it is skipped", () => {
    const judged = compareMetric(metric(), [], options);
    expect(judged.status).toBe("fail");
    expect(judged.summary).toBe(
      "accuracy 0.93: the primary has no judged window of accuracy, so nothing shows the candidate is better",
    );
    const other = compareMetric(metric({ name: "recall", judged_by_policy: false }), [], options);
    expect(other.status).toBe("skip");
    const alone = compareMetric(metric({ judged_by_policy: false }), [], {
      ...options,
      others_compared: false,
    });
    expect(alone.status).toBe("fail");
  });
});

describe("welchTTestFromStats", () => {
  it("equals Welch's t-test on the 0/1 outcomes themselves, whose moments the counts give", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 300 }),
        fc.integer({ min: 2, max: 300 }),
        fc.nat(),
        fc.nat(),
        (n1, n2, a, b) => {
          const k1 = a % (n1 + 1);
          const k2 = b % (n2 + 1);
          const outcomes = (k: number, n: number) => Array.from({ length: n }, (_, i) => (i < k ? 1 : 0));
          const stats = (k: number, n: number) => ({
            mean: k / n,
            variance: (k * (n - k)) / (n * (n - 1)),
            n,
          });
          const arrays = welchTTest(outcomes(k1, n1), outcomes(k2, n2));
          const counts = welchTTestFromStats(stats(k1, n1), stats(k2, n2));
          expect(counts.p_value).toBeCloseTo(arrays.p_value, 9);
          if (Number.isFinite(arrays.statistic)) expect(counts.statistic).toBeCloseTo(arrays.statistic, 9);
          else expect(counts.statistic).toBe(arrays.statistic);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("figure", () => {
  it("prints four significant digits without float noise", () => {
    expect(figure(0.91 - 0.894)).toBe("0.016");
    expect(figure(1234.5678)).toBe("1235");
    expect(figure(0.00012346)).toBe("0.0001235");
  });
});

function figureP(p: number | null): string {
  if (p === null) throw new Error("no p-value");
  return p < 0.001 ? p.toExponential(2) : p.toPrecision(3);
}
