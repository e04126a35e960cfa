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
  last_traffic_at: null,
  reported_version: null,
  version_mismatch_at: null,
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

  it("counts traffic as proof of life: silence runs from the later of the last traffic and the last heartbeat", () => {
    const p = policy({ silence_after_seconds: 2 * 86_400 });
    expect(kinds(3 * DAY, p, { ...deployment, last_traffic_at: 2 * DAY })).toEqual([]);
    expect(kinds(3 * DAY, p, { ...deployment, last_traffic_at: 2 * DAY, last_heartbeat_at: 0 })).toEqual([]);
    expect(kinds(3 * DAY, p, { ...deployment, last_traffic_at: 0, last_heartbeat_at: 2 * DAY })).toEqual([]);
    expect(kinds(5 * DAY, p, { ...deployment, last_traffic_at: 2 * DAY, last_heartbeat_at: DAY })).toEqual([
      "silent",
    ]);
  });

  it("calls a deployment that nothing reaches a zombie, with when it was last reached", () => {
    const p = policy({ silence_after_seconds: 86_400 });
    const [silent] = evaluateDeployment({ ...deployment, last_traffic_at: 0 }, p, 3 * DAY).findings;
    expect(silent).toMatchObject({
      kind: "silent",
      severity: "error",
      summary:
        "fraud-gbm 3.2.0 in production has received no traffic and sent no liveness heartbeat for 3d (at most 1d): a zombie",
      detail: {
        zombie: true,
        silent_seconds: 3 * 86_400,
        last_traffic_at: "1970-01-01T00:00:00.000Z",
        last_heartbeat_at: null,
      },
    });
  });

  it("finds a version mismatch as an error while a gateway saw one within the last day", () => {
    const mismatched = { ...deployment, reported_version: "3.1.9", version_mismatch_at: 2 * DAY };
    const [finding] = evaluateDeployment(mismatched, policy(), 2 * DAY + 1000).findings;
    expect(finding).toMatchObject({
      kind: "version_mismatch",
      severity: "error",
      summary:
        "fraud-gbm 3.2.0 in production is answered by version 3.1.9: its upstream says so, the registry says 3.2.0",
      detail: { registered_version: "3.2.0", reported_version: "3.1.9" },
    });
    expect(kinds(3 * DAY, policy(), mismatched)).toEqual(["version_mismatch"]);
    expect(kinds(3 * DAY + 1, policy(), mismatched)).toEqual([]);
    // A replay before it was seen does not know of it; a cleared one is gone.
    expect(kinds(2 * DAY - 1, policy(), mismatched)).toEqual([]);
    expect(kinds(2 * DAY, policy(), { ...mismatched, version_mismatch_at: null })).toEqual([]);
  });

  it("finds a version mismatch under an exempt policy too: it is not about age", () => {
    const mismatched = { ...deployment, reported_version: "3.1.9", version_mismatch_at: 40 * DAY };
    expect(kinds(40 * DAY, policy({ exempt: true }), mismatched)).toEqual(["version_mismatch"]);
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
