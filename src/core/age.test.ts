import { describe, expect, it } from "vitest";
import { type AgeInput, computeAge, DEFAULT_POLICY, stageDateRange, stageOf } from "./age.js";

const DAY_MS = 86_400_000;
const NOW = Date.parse("2026-11-25T00:00:00Z");

const live = (daysAgo: number, dataDaysAgo = daysAgo + 30): AgeInput => ({
  deployment_date: NOW - daysAgo * DAY_MS,
  training_data_cutoff: NOW - dataDaysAgo * DAY_MS,
  ended_at: null,
  ttl_extension_seconds: 0,
});

describe("computeAge", () => {
  it("measures the deployment and data clocks from now while live", () => {
    const age = computeAge(live(41, 100), DEFAULT_POLICY, NOW);
    expect(age.deployment_age_seconds).toBe(41 * 86_400);
    expect(age.data_age_seconds).toBe(100 * 86_400);
    expect(age.ttl_seconds).toBe(90 * 86_400);
    expect(age.ttl_fraction).toBeCloseTo(41 / 90, 4);
    expect(age.stage).toBe("fresh");
    expect(age.performance_age_seconds).toBeNull();
    expect(age.policy).toBe("default");
  });

  it("never says a deployment held its target longer than it has served", () => {
    // Its first judged window is aligned to the day and began 10 hours before it was deployed.
    const input = { ...live(20), performance_ok_since: NOW - 20 * DAY_MS - 10 * 3_600_000 };
    expect(computeAge(input, DEFAULT_POLICY, NOW).performance_age_seconds).toBe(20 * 86_400);
    const later = { ...live(20), performance_ok_since: NOW - 5 * DAY_MS };
    expect(computeAge(later, DEFAULT_POLICY, NOW).performance_age_seconds).toBe(5 * 86_400);
  });

  it("is due from 80% of the TTL and expired from the TTL, to the second", () => {
    const dueAt = 0.8 * 90 * 86_400;
    expect(stageOf(dueAt - 1, 90 * 86_400, 0.8)).toBe("fresh");
    expect(stageOf(dueAt, 90 * 86_400, 0.8)).toBe("due");
    expect(stageOf(90 * 86_400 - 1, 90 * 86_400, 0.8)).toBe("due");
    expect(stageOf(90 * 86_400, 90 * 86_400, 0.8)).toBe("expired");
  });

  it("stops the clocks of an ended deployment at its end and gives it no stage", () => {
    const input = { ...live(200), ended_at: NOW - 100 * DAY_MS };
    const age = computeAge(input, DEFAULT_POLICY, NOW);
    expect(age.deployment_age_seconds).toBe(100 * 86_400);
    expect(age.stage).toBeNull();
  });

  it("adds a review's extension to the TTL", () => {
    const age = computeAge({ ...live(100), ttl_extension_seconds: 30 * 86_400 }, DEFAULT_POLICY, NOW);
    expect(age.ttl_seconds).toBe(120 * 86_400);
    expect(age.stage).toBe("due");
  });

  it("never reports a negative age for a deployment_date slightly ahead of the clock", () => {
    const age = computeAge({ ...live(0), deployment_date: NOW + 60_000 }, DEFAULT_POLICY, NOW);
    expect(age.deployment_age_seconds).toBe(0);
  });
});

describe("stageDateRange", () => {
  it("selects exactly the deployment dates whose computed stage it names", () => {
    // Walk deployment dates across both boundaries, a second apart, and compare both ways.
    const dueMs = 0.8 * 90 * DAY_MS;
    const expiredMs = 90 * DAY_MS;
    for (const edge of [dueMs, expiredMs]) {
      for (let offset = -3_000; offset <= 3_000; offset += 250) {
        const deploymentDate = NOW - edge + offset;
        const stage = computeAge({ ...live(0), deployment_date: deploymentDate }, DEFAULT_POLICY, NOW).stage;
        for (const candidate of ["fresh", "due", "expired"] as const) {
          const range = stageDateRange(candidate, DEFAULT_POLICY, NOW);
          const inRange =
            (range.deployed_before === undefined || deploymentDate < range.deployed_before) &&
            (range.deployed_at_or_after === undefined || deploymentDate >= range.deployed_at_or_after);
          expect(inRange, `${candidate} at offset ${offset}`).toBe(candidate === stage);
        }
      }
    }
  });
});
