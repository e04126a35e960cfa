import { describe, expect, it } from "vitest";
import { computeHealth, type HealthInput } from "./health.js";

const healthy: HealthInput = {
  ttl_fraction: 0.1,
  review_at: 0.8,
  data_age_seconds: 30 * 86_400,
  max_data_age_seconds: 90 * 86_400,
  performance_state: "ok",
  performance_drop: 0,
  drift_state: "stable",
  exempt: false,
};

/** A deterministic spread of inputs to check properties over. */
function* inputs(): Generator<HealthInput> {
  for (const ttl_fraction of [0, 0.5, 0.8, 0.9, 1, 1.5, 3])
    for (const data of [0, 60, 90, 200, 800])
      for (const performance_state of ["ok", "degraded", "insufficient_data", null] as const)
        for (const performance_drop of [0, 0.02, 0.2])
          for (const drift_state of ["stable", "possible", "drifted", null] as const)
            yield {
              ...healthy,
              ttl_fraction,
              data_age_seconds: data * 86_400,
              performance_state,
              performance_drop,
              drift_state,
            };
}

describe("computeHealth", () => {
  it("gives a fresh deployment on target with stable inputs 100 and keep", () => {
    expect(computeHealth(healthy)).toMatchObject({ score: 100, verdict: "keep" });
  });

  it("stays within 0 to 100", () => {
    for (const input of inputs()) {
      const { score } = computeHealth(input);
      expect(score).toBeGreaterThanOrEqual(0);
      expect(score).toBeLessThanOrEqual(100);
    }
  });

  it("all else equal: older is never healthier", () => {
    for (const input of inputs()) {
      const older = computeHealth({ ...input, ttl_fraction: input.ttl_fraction + 0.3 }).score;
      expect(older).toBeLessThanOrEqual(computeHealth(input).score);
      const staler = computeHealth({
        ...input,
        data_age_seconds: input.data_age_seconds + 40 * 86_400,
      }).score;
      expect(staler).toBeLessThanOrEqual(computeHealth(input).score);
    }
  });

  it("all else equal: worse performance is never healthier", () => {
    for (const input of inputs()) {
      expect(
        computeHealth({ ...input, performance_drop: input.performance_drop + 0.05 }).score,
      ).toBeLessThanOrEqual(computeHealth(input).score);
      expect(computeHealth({ ...input, performance_state: "degraded" }).score).toBeLessThanOrEqual(
        computeHealth(input).score,
      );
    }
  });

  it("all else equal: drift is never healthier", () => {
    for (const input of inputs()) {
      const order = ["stable", "possible", "drifted"] as const;
      const scores = order.map((drift_state) => computeHealth({ ...input, drift_state }).score);
      expect(scores[1]).toBeLessThanOrEqual(scores[0] as number);
      expect(scores[2]).toBeLessThanOrEqual(scores[1] as number);
    }
  });

  it("an expired deployment on target with stable inputs is review, not retire", () => {
    const h = computeHealth({ ...healthy, ttl_fraction: 1.4 });
    expect(h.verdict).toBe("review");
    expect(h.score).toBeLessThan(100);
  });

  it("a young deployment that drifted or fell below target is retrain; an expired one, retire", () => {
    expect(computeHealth({ ...healthy, drift_state: "drifted" }).verdict).toBe("retrain");
    expect(computeHealth({ ...healthy, performance_state: "degraded", performance_drop: 0.05 }).verdict).toBe(
      "retrain",
    );
    expect(computeHealth({ ...healthy, ttl_fraction: 1.2, drift_state: "drifted" }).verdict).toBe("retire");
  });

  it("does not count age against an exempt deployment", () => {
    expect(computeHealth({ ...healthy, ttl_fraction: 5, exempt: true })).toMatchObject({
      score: 100,
      verdict: "keep",
    });
  });
});
