import { describe, expect, it } from "vitest";
import { type AgeInput, computeAge, DEFAULT_POLICY } from "./age.js";
import {
  degradedFinding,
  evaluatePerformance,
  latestJudgedWindow,
  type PerformancePolicy,
  type WindowAggregate,
} from "./performance.js";

const DAY = 86_400_000;
const policy = (changes: Partial<PerformancePolicy> = {}): PerformancePolicy => ({
  metric: "auc",
  target: 0.92,
  direction: "higher",
  window_seconds: 86_400,
  min_samples: 500,
  label_delay_seconds: 0,
  clear_after: 3,
  reference_windows: 5,
  ...changes,
});
/** A deployment's clocks apart from performance, for its age block. */
const input: AgeInput = {
  deployment_date: 0,
  training_data_cutoff: 0,
  ended_at: null,
  ttl_extension_seconds: 0,
};
/** A window of `samples` points averaging `mean`, on day `day`. */
const day = (index: number, mean: number, samples = 1000): WindowAggregate => ({
  index,
  samples,
  weighted_sum: mean * samples,
});

describe("evaluatePerformance", () => {
  it("holds its target: ok, with performance age counted from the first judged window", () => {
    const e = evaluatePerformance([day(10, 0.95), day(11, 0.94)], policy(), null, 12 * DAY);
    expect(e).toMatchObject({
      state: "ok",
      threshold: 0.92,
      threshold_source: "target",
      ok_since: 10 * DAY,
      baseline: 0.95,
    });
  });

  it("judges the sample-weighted mean of a window, not its points one by one", () => {
    // 0.99 on 100 samples and 0.90 on 900: the window's mean is 0.909, below 0.92.
    const window = { index: 10, samples: 1000, weighted_sum: 0.99 * 100 + 0.9 * 900 };
    expect(evaluatePerformance([window], policy(), null, 11 * DAY).state).toBe("degraded");
  });

  it("never alarms on a window with too few samples", () => {
    const e = evaluatePerformance([day(10, 0.5, 20)], policy(), null, 11 * DAY);
    expect(e.state).toBe("insufficient_data");
    expect(e.windows[0]?.state).toBe("insufficient_data");
  });

  it("does not judge windows younger than the label delay", () => {
    const p = policy({ label_delay_seconds: 7 * 86_400 });
    const young = evaluatePerformance([day(10, 0.5)], p, null, 12 * DAY);
    expect(young.state).toBe("insufficient_data");
    expect(young.windows[0]?.state).toBe("pending");
    expect(evaluatePerformance([day(10, 0.5)], p, null, 18 * DAY).state).toBe("degraded");
  });

  it("stays degraded while any of the last three judged windows is below: a flapping metric is one degradation", () => {
    const flapping = [day(1, 0.95), day(2, 0.9), day(3, 0.95), day(4, 0.9), day(5, 0.95)];
    expect(evaluatePerformance(flapping, policy(), null, 6 * DAY).state).toBe("degraded");
    const recovered = [...flapping, day(6, 0.95), day(7, 0.95)];
    const e = evaluatePerformance(recovered, policy(), null, 8 * DAY);
    expect(e.state).toBe("ok");
    expect(e.ok_since).toBe(5 * DAY);
  });

  it("holds its target since no time while the latest judged window is below, however late it is judged", () => {
    for (const at of [3 * DAY, 3 * DAY + 3_600_000, 9 * DAY]) {
      const e = evaluatePerformance([day(1, 0.95), day(2, 0.5)], policy(), null, at);
      expect(e).toMatchObject({ state: "degraded", ok_since: null });
      // Its performance age, as every view computes it, is 0 at any clock.
      const age = computeAge(
        { ...input, performance_state: e.state, performance_ok_since: e.ok_since },
        DEFAULT_POLICY,
        at + 5 * DAY,
      );
      expect(age.performance_age_seconds).toBe(0);
    }
  });

  it("counts performance age from the end of the last window below once the latest is on target", () => {
    const e = evaluatePerformance([day(1, 0.95), day(2, 0.5), day(3, 0.95)], policy(), null, 4 * DAY);
    expect(e).toMatchObject({ state: "degraded", ok_since: 3 * DAY });
    const age = computeAge(
      { ...input, performance_state: e.state, performance_ok_since: e.ok_since },
      DEFAULT_POLICY,
      5 * DAY,
    );
    expect(age.performance_age_seconds).toBe(2 * 86_400);
  });

  it("learns a threshold of mean − 3σ from the first windows when no target is set", () => {
    const reference = [0.9, 0.91, 0.92, 0.91, 0.9].map((m, i) => day(i, m));
    const p = policy({ target: null });
    const mean = 0.908;
    const sd = Math.sqrt([0.9, 0.91, 0.92, 0.91, 0.9].reduce((s, m) => s + (m - mean) ** 2, 0) / 4);
    const fine = evaluatePerformance([...reference, day(5, 0.89)], p, null, 6 * DAY);
    expect(fine.threshold).toBeCloseTo(mean - 3 * sd, 12);
    expect(fine.state).toBe("ok");
    expect(evaluatePerformance([...reference, day(5, 0.85)], p, null, 6 * DAY).state).toBe("degraded");
    expect(evaluatePerformance(reference.slice(0, 3), p, null, 6 * DAY).state).toBe("insufficient_data");
  });

  it("reads lower-is-better metrics the other way round", () => {
    const p = policy({ metric: "latency_ms", target: 200, direction: "lower" });
    expect(evaluatePerformance([day(1, 180)], p, null, 2 * DAY).state).toBe("ok");
    expect(evaluatePerformance([day(1, 250)], p, null, 2 * DAY).state).toBe("degraded");
  });

  it("reports the registration baseline over the first window's mean", () => {
    expect(evaluatePerformance([day(1, 0.95)], policy(), 0.97, 2 * DAY).baseline).toBe(0.97);
  });
});

describe("degradedFinding", () => {
  it("names the metric, the value against the threshold, the window and its samples", () => {
    const p = policy();
    const e = evaluatePerformance([day(1, 0.95), day(2, 0.9, 1204)], p, null, 3 * DAY);
    const finding = degradedFinding(e, "fraud-gbm 3.2.0 in production", { name: "fraud", performance: p });
    expect(finding).toMatchObject({
      kind: "degraded",
      severity: "error",
      summary: "fraud-gbm 3.2.0 in production is below its auc target: 0.9 < 0.92",
      detail: {
        metric: "auc",
        value: 0.9,
        threshold: 0.92,
        samples: 1204,
        window_start: new Date(2 * DAY).toISOString(),
      },
    });
    expect(
      degradedFinding(evaluatePerformance([day(1, 0.95)], p, null, 2 * DAY), "x", {
        name: "f",
        performance: p,
      }),
    ).toBeUndefined();
  });
});

describe("latestJudgedWindow", () => {
  it("is the newest window past the label delay with enough samples, below target or not", () => {
    const p = policy({ label_delay_seconds: 86_400 });
    // Day 3 is thin, day 4 still waits for its labels at the start of day 5.
    const windows = [day(1, 0.95), day(2, 0.9), day(3, 0.99, 20), day(4, 0.99)];
    expect(latestJudgedWindow(windows, p, 5 * DAY)).toMatchObject({
      start: 2 * DAY,
      end: 3 * DAY,
      mean: 0.9,
      state: "below",
    });
  });

  it("is undefined while no window is judged", () => {
    expect(latestJudgedWindow([day(1, 0.95, 20)], policy(), 3 * DAY)).toBeUndefined();
    expect(latestJudgedWindow([], policy(), 3 * DAY)).toBeUndefined();
  });
});
