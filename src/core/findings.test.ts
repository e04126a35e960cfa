import { describe, expect, it } from "vitest";
import { type EvaluationInput, evaluateDeployment, lifecycleDates } from "./findings.js";
import { defaultPolicy, type Policy } from "./policy.js";

const DAY = 86_400_000;
const policy = (changes: Partial<Policy> = {}): Policy => ({
  ...defaultPolicy(),
  name: "p",
  max_age_seconds: 30 * 86_400,
  review_at: 0.8,
  ...changes,
});
const deployment: EvaluationInput = {
  model: "fraud-gbm",
  model_version: "3.2.0",
  environment: "production",
  deployment_date: 0,
  training_data_cutoff: -10 * DAY,
  ended_at: null,
  ttl_extension_seconds: 0,
  last_heartbeat_at: null,
};
const kinds = (at: number, p = policy(), d = deployment) =>
  evaluateDeployment(d, p, at).findings.map((f) => f.kind);

describe("evaluateDeployment", () => {
  it("finds nothing for a fresh deployment, due at the review point, expired at the TTL, never both", () => {
    expect(kinds(23 * DAY)).toEqual([]);
    expect(kinds(24 * DAY)).toEqual(["due"]);
    expect(kinds(30 * DAY)).toEqual(["expired"]);
  });

  it("grades expired as an error and due as a warning, with a sentence saying why", () => {
    const [expired] = evaluateDeployment(deployment, policy(), 31 * DAY).findings;
    expect(expired).toMatchObject({
      severity: "error",
      summary: "fraud-gbm 3.2.0 in production is expired: 31d of 30d (103%)",
      detail: { reason: expect.stringMatching(/past its TTL of 30d under policy p/) },
    });
    expect(evaluateDeployment(deployment, policy(), 25 * DAY).findings[0]?.severity).toBe("warning");
  });

  it("serializes a finding as the plain record it reads as, words included", () => {
    const [expired] = evaluateDeployment(deployment, policy(), 31 * DAY).findings;
    expect(JSON.parse(JSON.stringify(expired))).toEqual({
      kind: "expired",
      severity: "error",
      summary: "fraud-gbm 3.2.0 in production is expired: 31d of 30d (103%)",
      detail: expect.objectContaining({ policy: "p", ttl_seconds: 30 * 86_400 }),
    });
  });

  it("counts a review's extension in the TTL", () => {
    expect(kinds(31 * DAY, policy(), { ...deployment, ttl_extension_seconds: 30 * 86_400 })).toEqual([]);
  });

  it("finds data older than max_data_age stale, and only then", () => {
    const p = policy({ max_data_age_seconds: 20 * 86_400 });
    expect(kinds(9 * DAY, p)).toEqual([]);
    expect(kinds(10 * DAY, p)).toEqual(["data_stale"]);
  });

  it("raises no age findings under an exempt policy, but still notices silence", () => {
    const p = policy({ exempt: true, max_data_age_seconds: 86_400, silence_after_seconds: 86_400 });
    expect(kinds(100 * DAY, p)).toEqual(["silent"]);
    expect(evaluateDeployment(deployment, p, 100 * DAY).age).toMatchObject({
      stage: "expired",
      exempt: true,
    });
  });

  it("counts silence from the last heartbeat, or from the deployment date when none came", () => {
    const p = policy({ silence_after_seconds: 2 * 86_400 });
    expect(kinds(2 * DAY - 1, p)).toEqual([]);
    expect(kinds(2 * DAY, p)).toEqual(["silent"]);
    expect(kinds(3 * DAY, p, { ...deployment, last_heartbeat_at: 2 * DAY })).toEqual([]);
  });
});

describe("lifecycleDates", () => {
  it("puts the review point at review_at of the TTL and the expiry at the TTL, extensions included", () => {
    expect(lifecycleDates({ deployment_date: 0, ttl_extension_seconds: 0 }, policy())).toEqual({
      due_at: 24 * DAY,
      expires_at: 30 * DAY,
    });
    expect(lifecycleDates({ deployment_date: 0, ttl_extension_seconds: 10 * 86_400 }, policy())).toEqual({
      due_at: 32 * DAY,
      expires_at: 40 * DAY,
    });
  });
});
