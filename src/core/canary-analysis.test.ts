import { describe, expect, it } from "vitest";
import {
  analyzeCanary,
  type CanaryCriteria,
  type CanaryProgress,
  DEFAULT_CANARY_CRITERIA,
  nextCanaryStep,
  rateMargin,
  type WindowTraffic,
} from "./canary-analysis.js";

const BOUNDS = [10, 20, 50, 100];
const criteria: CanaryCriteria = { ...DEFAULT_CANARY_CRITERIA, latency_bounds_ms: BOUNDS };

/** `requests` requests, `errors` of them errors, every latency in the bucket at `bucket`. */
const traffic = (requests: number, errors: number, bucket = 0): WindowTraffic => ({
  requests,
  errors,
  latency_buckets: BOUNDS.map((_, i) => (i === bucket ? requests : 0)).concat(
    bucket === BOUNDS.length ? requests : 0,
  ),
});

/** `n` labelled classifications, the first `wrong` of them wrong. */
const outcomes = (n: number, wrong: number) =>
  Array.from({ length: n }, (_, i) => ({ prediction: i < wrong ? "legit" : "fraud", label: "fraud" }));

describe("analyzeCanary", () => {
  it("passes a canary whose error rate and p99 match the primary's", () => {
    const a = analyzeCanary(traffic(1000, 10), traffic(200, 2), criteria);
    expect(a.verdict).toBe("pass");
    expect(a.figures.primary).toEqual({ requests: 1000, errors: 10, error_rate: 0.01, p99_ms: 9.9 });
    expect(a.figures.canary.error_rate).toBe(0.01);
    expect(a.reasons).toHaveLength(2);
  });

  it("fails a canary whose error rate exceeds the primary's by more than the margin", () => {
    const a = analyzeCanary(traffic(1000, 10), traffic(200, 30), criteria);
    expect(a.verdict).toBe("fail");
    // 15% against 1%: far past max(1 point, 2 pooled standard errors).
    expect(a.figures.error_rate_margin).toBeCloseTo(
      rateMargin({ successes: 10, trials: 1000 }, { successes: 30, trials: 200 }, 0.01),
      12,
    );
    expect(a.reasons[0]).toMatch(/error rate 15\.00% against the primary's 1\.00%/);
  });

  it("does not fail a canary for a difference within two standard errors at low traffic", () => {
    // 2% against 1% on 200 requests: a one-point increase, but within noise (2 SE ≈ 1.6 points).
    const a = analyzeCanary(traffic(1000, 10), traffic(200, 4), criteria);
    expect(a.figures.error_rate_margin).toBeGreaterThan(0.01);
    expect(a.verdict).toBe("pass");
  });

  it("fails a canary whose p99 latency exceeds the primary's × 1.2 + 5 ms", () => {
    const a = analyzeCanary(traffic(1000, 0, 0), traffic(200, 0, 2), criteria);
    expect(a.verdict).toBe("fail");
    expect(a.figures.p99_limit_ms).toBeCloseTo(9.9 * 1.2 + 5, 12);
    expect(a.figures.canary.p99_ms).toBeCloseTo(49.7, 12);
    expect(a.reasons).toEqual([expect.stringMatching(/p99 latency 49\.7 ms against the primary's 9\.9 ms/)]);
  });

  it("is inconclusive, never a pass, with fewer than min_requests on either side", () => {
    const few = analyzeCanary(traffic(1000, 0), traffic(99, 0), criteria);
    expect(few.verdict).toBe("inconclusive");
    expect(few.reasons).toEqual([expect.stringMatching(/canary answered 99 requests.*min_requests \(100\)/)]);
    expect(analyzeCanary(traffic(50, 0), traffic(500, 0), criteria).verdict).toBe("inconclusive");
  });

  it("is inconclusive with no traffic at all: 0/0 is not a rate, an empty histogram has no p99", () => {
    const none = analyzeCanary(undefined, undefined, { ...criteria, min_requests: 0 });
    expect(none.verdict).toBe("inconclusive");
    expect(none.figures.primary).toEqual({ requests: 0, errors: 0, error_rate: null, p99_ms: null });
    expect(none.reasons.join(" ")).toMatch(/not defined/);
  });

  it("is inconclusive when requests were counted but no latencies were", () => {
    const noLatency = { requests: 500, errors: 0, latency_buckets: [0, 0, 0, 0, 0] };
    const a = analyzeCanary(traffic(1000, 0), noLatency, criteria);
    expect(a.verdict).toBe("inconclusive");
    expect(a.figures.canary.p99_ms).toBeNull();
  });

  it("fails, rather than waits, when one criterion fails and another cannot be judged", () => {
    const badNoLatency = { requests: 500, errors: 250, latency_buckets: [0, 0, 0, 0, 0] };
    expect(analyzeCanary(traffic(1000, 0), badNoLatency, criteria).verdict).toBe("fail");
  });

  it("fails a canary significantly wrong more often on labelled requests, error rate and p99 equal", () => {
    const labels = { primary: outcomes(1000, 50), canary: outcomes(400, 80) };
    const a = analyzeCanary(traffic(1000, 0), traffic(400, 0), criteria, labels);
    expect(a.verdict).toBe("fail");
    expect(a.reasons).toEqual([
      expect.stringMatching(/error rate 20\.00% against the primary's 5\.00%.*significantly worse/),
    ]);
    expect(a.figures.labels).toMatchObject({
      counted: true,
      worse: true,
      test: "fisher_exact",
      min_labels: 30,
    });
    expect(a.figures.labels?.canary).toMatchObject({ labelled: 400, errors: 80, error_rate: 0.2 });
    expect(a.figures.labels?.p_value).toBeLessThan(1e-10);
  });

  it("too few labels never fail, never pass, never make it inconclusive: the figures say they did not count", () => {
    const few = { primary: outcomes(1000, 50), canary: outcomes(29, 29) };
    const passing = analyzeCanary(traffic(1000, 0), traffic(400, 0), criteria, few);
    expect(passing.verdict).toBe("pass");
    expect(passing.reasons).toHaveLength(2);
    expect(passing.figures.labels).toMatchObject({ counted: false, worse: false, p_value: null });
    expect(passing.figures.labels?.reason).toMatch(/too few labels to count: 1000 on the primary and 29/);
    const waiting = analyzeCanary(traffic(1000, 0), traffic(40, 0), criteria, few);
    expect(waiting.verdict).toBe("inconclusive");
  });

  it("labels that show no significant difference pass that check and do not rescue an undecided window", () => {
    const same = { primary: outcomes(300, 30), canary: outcomes(100, 11) };
    const a = analyzeCanary(traffic(1000, 0), traffic(400, 0), criteria, same);
    expect(a.verdict).toBe("pass");
    expect(a.reasons).toHaveLength(3);
    expect(analyzeCanary(traffic(1000, 0), traffic(40, 0), criteria, same).verdict).toBe("inconclusive");
  });

  it("without a label source the figures hold no label comparison", () => {
    expect(analyzeCanary(traffic(1000, 0), traffic(400, 0), criteria).figures.labels).toBeNull();
  });
});

const progress = (changes: Partial<CanaryProgress> = {}): CanaryProgress => ({
  steps: [10, 25, 50, 100],
  step_index: 0,
  weight: 10,
  failures: 0,
  inconclusive_streak: 0,
  ...changes,
});
const limits = { failure_limit: 3, inconclusive_limit: 5 };

describe("nextCanaryStep", () => {
  it("holds after a failure below failure_limit and counts it", () => {
    expect(nextCanaryStep(progress({ inconclusive_streak: 2 }), limits, "fail")).toEqual({
      action: "hold",
      progress: progress({ failures: 1, inconclusive_streak: 0 }),
    });
  });

  it("rolls back at failure_limit failures, passes in between not forgiving them", () => {
    let p = progress();
    const actions: string[] = [];
    for (const verdict of ["fail", "pass", "fail", "pass", "fail"] as const) {
      const step = nextCanaryStep(p, limits, verdict);
      actions.push(step.action);
      p = step.progress;
    }
    expect(actions).toEqual(["hold", "advance", "hold", "advance", "rollback"]);
    expect(p.weight).toBe(0);
    expect(p.failures).toBe(3);
  });

  it("holds on inconclusive analyses and pauses at inconclusive_limit in a row", () => {
    let p = progress();
    const actions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const step = nextCanaryStep(p, limits, "inconclusive");
      actions.push(step.action);
      p = step.progress;
    }
    expect(actions).toEqual(["hold", "hold", "hold", "hold", "pause"]);
    expect(p).toEqual(progress({ inconclusive_streak: 5 }));
  });

  it("never promotes or advances on inconclusive analyses, whatever their number", () => {
    let p = progress({ step_index: 3, weight: 100 });
    for (let i = 0; i < 100; i++) {
      const step = nextCanaryStep(p, { failure_limit: 3, inconclusive_limit: 1000 }, "inconclusive");
      expect(step.action).toBe("hold");
      p = step.progress;
    }
    expect(p.weight).toBe(100);
  });

  it("a pass resets the inconclusive streak", () => {
    const step = nextCanaryStep(progress({ inconclusive_streak: 4 }), limits, "pass");
    expect(step.progress.inconclusive_streak).toBe(0);
  });

  it("walks the steps on passes and promotes after passing the last", () => {
    let p = progress();
    const seen: [string, number][] = [];
    for (let i = 0; i < 4; i++) {
      const step = nextCanaryStep(p, limits, "pass");
      seen.push([step.action, step.progress.weight]);
      p = step.progress;
    }
    expect(seen).toEqual([
      ["advance", 25],
      ["advance", 50],
      ["advance", 100],
      ["promote", 100],
    ]);
  });

  it("promotes after the last step even when it is below 100", () => {
    const step = nextCanaryStep(progress({ steps: [10, 30], step_index: 1, weight: 30 }), limits, "pass");
    expect(step.action).toBe("promote");
  });

  it("holds on passes when it was given no steps: only steps promote", () => {
    expect(nextCanaryStep(progress({ steps: null }), limits, "pass")).toEqual({
      action: "hold",
      progress: progress({ steps: null }),
    });
  });
});
