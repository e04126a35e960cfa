import { describe, expect, it } from "vitest";
import { DEFAULT_REPLAY, type ModelTruth, replayFleet, trueCrossing } from "../../bench/lib/ttl-replay.js";

const base = { direction: "higher", target: 0.85, noise: 0.005, missing: 0.1 } as const;
const fast: ModelTruth = { ...base, name: "fast", kind: "linear", start: 0.92, slope: -0.0025 };
const stable: ModelTruth = { ...base, name: "stable", kind: "never", start: 0.92, slope: 0 };

describe("the learned-TTL replay", () => {
  const { outcomes, summaries } = replayFleet([fast, stable], { ...DEFAULT_REPLAY, days: 365 });
  const outcome = (model: string, policy: string) => {
    const found = outcomes.find((o) => o.model === model && o.policy === policy);
    if (!found) throw new Error(`no outcome for ${model} under ${policy}`);
    return found;
  };

  it("knows each truth's crossing age", () => {
    expect(trueCrossing(fast, 0.92)).toBeCloseTo(28, 6);
    expect(trueCrossing(stable, 0.92)).toBeNull();
    expect(trueCrossing({ ...stable, step: { at_day: 45, by: -0.1 } }, 0.92)).toBe(45);
  });

  it("serves a stable model above target under both, and learns to keep it longer", () => {
    expect(outcome("stable", "fixed").days_below_target).toBe(0);
    expect(outcome("stable", "fixed").last_ttl_days).toBe(90);
    expect(outcome("stable", "learned").last_ttl_days).toBe(365);
    expect(outcome("stable", "learned").retrains).toBeLessThan(outcome("stable", "fixed").retrains);
  });

  it("retrains a fast decayer before it crosses once it has a curve, and forecasts the crossing", () => {
    const fixed = outcome("fast", "fixed");
    const learned = outcome("fast", "learned");
    // Under the fixed TTL each version serves from 28d to 97d below target.
    expect(fixed.days_below_target).toBeGreaterThan(100);
    expect(learned.days_below_target).toBeLessThan(fixed.days_below_target / 2);
    expect(learned.last_ttl_days).toBeLessThan(28);
    expect(learned.forecasts.length).toBeGreaterThan(0);
    for (const f of learned.forecasts) expect(f.relative_error).toBeLessThan(0.3);
    const learnedSummary = summaries.find((s) => s.policy === "learned");
    expect(learnedSummary?.median_forecast_error).toBeLessThan(0.2);
  });

  it("bounds the policies with an oracle that knows each version's crossing and serves no day below target", () => {
    const oracle = outcome("fast", "oracle");
    expect(oracle.days_below_target).toBe(0);
    expect(outcome("stable", "oracle").days_below_target).toBe(0);
    // Successors go live the day a version crosses at 28d: about 365 / 28 of them in a year.
    expect(oracle.retrains).toBeGreaterThanOrEqual(12);
    expect(oracle.retrains).toBeLessThanOrEqual(14);
    // Serving a fast decayer above target takes more retrains than the fixed TTL's.
    expect(oracle.retrains).toBeGreaterThan(outcome("fast", "fixed").retrains);
  });
});
