import { describe, expect, it } from "vitest";
import { type CanaryAnalysisEvidence, canaryVerdict, decideGate, type GateInput } from "./gate.js";
import type { JudgedWindow } from "./performance.js";

const DAY = 86_400_000;
const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const window = (index: number, mean: number, samples = 2000): JudgedWindow => ({
  start: NOW - index * DAY,
  end: NOW - (index - 1) * DAY,
  samples,
  mean,
  state: "ok",
});

const input = (changes: Partial<GateInput> = {}): GateInput => ({
  model: "fraud-gbm",
  environment: "production",
  candidate: {
    model_version: "3.3.0",
    training_data_cutoff: Date.parse("2026-11-01"),
    cutoff_source: "candidate",
  },
  primary: { deployment_id: 7, model_version: "3.2.0", training_data_cutoff: Date.parse("2026-10-01") },
  policy: { name: "fraud", max_data_age_seconds: 60 * 86_400 },
  metrics: [
    {
      metric: {
        name: "accuracy",
        value: 0.93,
        direction: "higher",
        sample_size: 5000,
        kind: null,
        values: null,
        judged_by_policy: true,
      },
      primary_windows: [window(3, 0.9), window(2, 0.91), window(1, 0.905)],
    },
  ],
  min_improvement: 0.005,
  alpha: 0.05,
  verdicts: null,
  now: NOW,
  ...changes,
});

describe("decideGate", () => {
  it("promotes a candidate that beats the primary, on newer data within the policy's max_data_age", () => {
    const decision = decideGate(input());
    expect(decision.decision).toBe("promote");
    expect(decision.checks.map((c) => [c.kind, c.status])).toEqual([
      ["metric", "pass"],
      ["training_data_cutoff", "pass"],
      ["data_age", "pass"],
    ]);
    expect(decision.summary).toBe("promote fraud-gbm 3.3.0 in production: it beats 3.2.0 on every check");
    expect(decision.checks[1]?.summary).toBe(
      "trained through 2026-11-01, 31d after the primary's 2026-10-01",
    );
    expect(decision.checks[2]?.summary).toBe("data age 24d, within the 60d max_data_age of policy fraud");
    expect(decision.primary).toEqual({
      deployment_id: 7,
      model_version: "3.2.0",
      training_data_cutoff: "2026-10-01T00:00:00.000Z",
    });
  });

  it("blocks a candidate trained on data no newer than the primary's, naming the check", () => {
    const decision = decideGate(
      input({
        candidate: {
          model_version: "3.3.0",
          training_data_cutoff: Date.parse("2026-10-01"),
          cutoff_source: "registry",
        },
      }),
    );
    expect(decision.decision).toBe("block");
    const cutoff = decision.checks.find((c) => c.kind === "training_data_cutoff");
    expect(cutoff).toMatchObject({ status: "fail", newer_by_seconds: 0, source: "registry" });
    expect(cutoff?.summary).toBe(
      "trained through 2026-10-01 (as registered), not after the primary's 2026-10-01: it learned nothing newer",
    );
    expect(decision.summary).toBe(
      "block fraud-gbm 3.3.0 in production: 1 of 3 checks failed (training data)",
    );
  });

  it("blocks a candidate whose data is older than the policy's max_data_age", () => {
    const decision = decideGate(input({ policy: { name: "fraud", max_data_age_seconds: 20 * 86_400 } }));
    expect(decision.decision).toBe("block");
    expect(decision.checks.find((c) => c.kind === "data_age")).toMatchObject({
      status: "fail",
      data_age_seconds: 24.5 * 86_400,
      max_data_age_seconds: 20 * 86_400,
      summary: "data age 24d, past the 20d max_data_age of policy fraud",
    });
  });

  it("a policy without max_data_age passes the data age and says so", () => {
    const check = decideGate(input({ policy: { name: "default", max_data_age_seconds: null } })).checks.find(
      (c) => c.kind === "data_age",
    );
    expect(check).toMatchObject({
      status: "pass",
      summary: "data age 24d; policy default sets no max_data_age",
    });
  });

  it("without a live primary there is nothing to beat: it promotes with a note, and the data age still decides", () => {
    const alone = decideGate(input({ primary: null, verdicts: [] }));
    expect(alone.decision).toBe("promote");
    expect(alone.summary).toBe(
      "promote fraud-gbm 3.3.0 in production: no live primary to beat, and its data is within policy",
    );
    expect(alone.checks.map((c) => c.summary)).toEqual([
      "accuracy 0.93: no live primary in production, nothing to beat",
      "trained through 2026-11-01; no live primary in production to be newer than",
      "data age 24d, within the 60d max_data_age of policy fraud",
      "no live primary in production to compare with: no verdict needed",
    ]);
    const stale = decideGate(
      input({ primary: null, policy: { name: "fraud", max_data_age_seconds: 86_400 } }),
    );
    expect(stale.decision).toBe("block");
  });

  it("never promotes on a comparison that did not happen: metrics the primary has no window of all fail", () => {
    const decision = decideGate(
      input({
        metrics: [
          {
            metric: {
              name: "recall",
              value: 0.8,
              direction: "higher",
              sample_size: null,
              kind: null,
              values: null,
              judged_by_policy: false,
            },
            primary_windows: [],
          },
        ],
      }),
    );
    expect(decision.decision).toBe("block");
    expect(decision.checks[0]).toMatchObject({ kind: "metric", name: "recall", status: "fail" });
  });

  it("with require_shadow, a candidate_better verdict passes, and any other blocks with the reasons", () => {
    const better = decideGate(
      input({
        verdicts: [
          { source: "shadow", deployment_id: 9, verdict: "inconclusive", reason: "12 usable labelled pairs" },
          { source: "canary", deployment_id: 10, verdict: "candidate_better", reason: "Fisher p = 0.001" },
        ],
      }),
    );
    expect(better.decision).toBe("promote");
    expect(better.checks.at(-1)?.summary).toBe(
      "canary 3.3.0 (deployment 10): candidate_better: Fisher p = 0.001",
    );
    const unsure = decideGate(
      input({
        verdicts: [
          { source: "shadow", deployment_id: 9, verdict: "inconclusive", reason: "12 usable labelled pairs" },
        ],
      }),
    );
    expect(unsure.decision).toBe("block");
    expect(unsure.checks.at(-1)).toMatchObject({
      kind: "shadow_verdict",
      status: "fail",
      summary:
        "no candidate_better verdict: shadow 3.3.0 (deployment 9): inconclusive: 12 usable labelled pairs",
    });
    const none = decideGate(input({ verdicts: [] }));
    expect(none.checks.at(-1)?.summary).toBe(
      "no live shadow or canary of 3.3.0 in production holds a verdict against the primary",
    );
    expect(none.decision).toBe("block");
  });
});

describe("canaryVerdict", () => {
  const labels = (changes: Partial<NonNullable<CanaryAnalysisEvidence["labels"]>> = {}) => ({
    counted: true,
    worse: false,
    reason: "the canary's error rate 5.00% against the primary's 9.00%",
    kind: "classification" as const,
    primary: { error_rate: 0.09, mean_abs_error: null },
    canary: { error_rate: 0.05, mean_abs_error: null },
    p_value: 0.001,
    alpha: 0.05,
    ...changes,
  });
  const analysis = (changes: Partial<CanaryAnalysisEvidence> = {}): CanaryAnalysisEvidence => ({
    verdict: "pass",
    reasons: [],
    labels: labels(),
    ...changes,
  });

  it("is candidate_better only when its labels show a significantly lower error", () => {
    expect(canaryVerdict(analysis()).verdict).toBe("candidate_better");
    expect(canaryVerdict(analysis({ labels: labels({ p_value: 0.2 }) }))).toEqual({
      verdict: "inconclusive",
      reason: "the canary's error rate 5.00% against the primary's 9.00% (p = 0.200)",
    });
    expect(
      canaryVerdict(
        analysis({
          labels: labels({
            kind: "regression",
            primary: { error_rate: null, mean_abs_error: 2 },
            canary: { error_rate: null, mean_abs_error: 3 },
          }),
        }),
      ).verdict,
    ).toBe("inconclusive");
  });

  it("is candidate_worse when the analysis failed or the labels show it worse", () => {
    expect(canaryVerdict(analysis({ verdict: "fail", reasons: ["error rate up 3 points"] }))).toEqual({
      verdict: "candidate_worse",
      reason: "its newest analysis failed: error rate up 3 points",
    });
    expect(canaryVerdict(analysis({ labels: labels({ worse: true }) })).verdict).toBe("candidate_worse");
  });

  it("is inconclusive without an analysis, without labels, or when they did not count", () => {
    expect(canaryVerdict(undefined).verdict).toBe("inconclusive");
    expect(canaryVerdict(analysis({ labels: null })).reason).toBe("no labelled requests yet");
    expect(canaryVerdict(analysis({ labels: labels({ counted: false, reason: "too few labels" }) }))).toEqual(
      {
        verdict: "inconclusive",
        reason: "too few labels",
      },
    );
  });
});
