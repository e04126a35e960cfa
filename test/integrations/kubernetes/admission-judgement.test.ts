import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { defaultPolicy, type Policy, type PolicySubject } from "../../../src/core/policy.js";
import {
  type AdmissionFacts,
  judgeAdmission,
} from "../../../src/integrations/kubernetes/admission-judgement.js";
import {
  type AdmissionRequest,
  AdmissionReviewRequest,
} from "../../../src/integrations/kubernetes/admission-review.js";
import {
  admissionReview,
  annotate,
  label,
  objectOf,
  REQUIRED,
  type ReviewJson,
  withoutMetadata,
} from "../../support/admission-reviews.js";

const NOW = Date.parse("2026-11-02T10:00:00Z");
const DAY = 86_400;

function requestOf(review: ReviewJson): AdmissionRequest {
  return AdmissionReviewRequest.parse(review).request;
}

function facts(overrides: Partial<AdmissionFacts> = {}): AdmissionFacts {
  return { now: NOW, policyFor: () => defaultPolicy(), registeredOwner: undefined, ...overrides };
}

function judge(review: ReviewJson, overrides: Partial<AdmissionFacts> = {}) {
  return judgeAdmission(requestOf(review), facts(overrides));
}

function deniedMessage(review: ReviewJson, overrides: Partial<AdmissionFacts> = {}): string {
  const { verdict } = judge(review, overrides);
  if (verdict.allowed) throw new Error("expected a denial");
  return verdict.message;
}

const policy = (overrides: Partial<Policy>): Policy => ({ ...defaultPolicy(), ...overrides });

describe("judging a labelled workload's admission", () => {
  it.each(["deployment-create", "statefulset-update", "inferenceservice-create"] as const)(
    "allows a labelled %s that carries valid metadata, with no warning",
    (fixture) => {
      expect(judge(admissionReview(fixture)).verdict).toEqual({ allowed: true, warnings: [] });
    },
  );

  it("denies a labelled workload without its annotations, naming each one missing", () => {
    const message = deniedMessage(withoutMetadata(admissionReview("deployment-create")));
    expect(message).toContain('Deployment payments/fraud-gbm is labelled tenure.dev/model="fraud-gbm"');
    for (const key of REQUIRED) expect(message).toContain(`annotation ${key} is missing`);
  });

  it.each(REQUIRED)("denies a workload that lacks only %s, naming it and no other", (key) => {
    const { verdict, problems } = judge(annotate(admissionReview("deployment-create"), { [key]: undefined }));
    expect(verdict.allowed).toBe(false);
    expect(problems).toEqual([{ key, message: "is missing" }]);
  });

  it.each([
    ["tenure.dev/model-version", "3.2.0 beta", "must start with a letter or digit"],
    ["tenure.dev/training-data-cutoff", "last tuesday", "must be an ISO 8601 date"],
    ["tenure.dev/training-data-cutoff", "2026-10-01T12:00:00", "must be an ISO 8601 date"],
    ["tenure.dev/training-data-cutoff", "2026-11-03", "is in the future"],
    ["tenure.dev/owner-team", "Risk Team", "must be a slug"],
    ["tenure.dev/environment", "Prod", "must be a slug"],
  ])("denies %s=%j as the registry would refuse it, quoting the value", (key, value, reason) => {
    const message = deniedMessage(annotate(admissionReview("deployment-create"), { [key]: value }));
    expect(message).toContain(`annotation ${key} ${JSON.stringify(value)} ${reason}`);
  });

  it("takes a training data cutoff a little ahead of the server's clock: clocks drift", () => {
    const review = annotate(admissionReview("deployment-create"), {
      "tenure.dev/training-data-cutoff": new Date(NOW + 60_000).toISOString(),
    });
    expect(judge(review).verdict.allowed).toBe(true);
  });

  it("denies a model label that is not a slug, naming the label", () => {
    const message = deniedMessage(
      label(admissionReview("deployment-create"), { "tenure.dev/model": "Fraud_GBM" }),
    );
    expect(message).toContain('label tenure.dev/model "Fraud_GBM" must be a slug');
  });

  it("says so when the annotations sit on the pod template instead of the workload", () => {
    const review = withoutMetadata(admissionReview("deployment-create"));
    const template = objectOf(review).spec?.template as {
      metadata: { annotations?: Record<string, string> };
    };
    template.metadata.annotations = { "tenure.dev/model-version": "3.2.0", "tenure.dev/owner-team": "risk" };
    expect(deniedMessage(review)).toContain(
      "tenure.dev/model-version, tenure.dev/owner-team are on the pod template (spec.template.metadata); Tenure reads the workload's own metadata.annotations.",
    );
  });

  it("cuts a long value short in the message", () => {
    const message = deniedMessage(
      annotate(admissionReview("deployment-create"), { "tenure.dev/owner-team": "X".repeat(5000) }),
    );
    expect(message.length).toBeLessThan(600);
    expect(message).toContain(`"${"X".repeat(64)}…"`);
  });
});

describe("what the webhook leaves alone", () => {
  it("allows a workload without the tenure.dev/model label untouched, whatever its annotations", () => {
    const review = label(withoutMetadata(admissionReview("deployment-create")), {
      "tenure.dev/model": undefined,
    });
    expect(judge(review)).toEqual({
      verdict: { allowed: true, warnings: [] },
      reason: "not labelled tenure.dev/model",
      problems: [],
    });
  });

  it.each(["DELETE", "CONNECT"])("allows %s without judging it", (operation) => {
    const review = withoutMetadata(admissionReview("statefulset-update"));
    review.request.operation = operation;
    if (operation === "CONNECT") review.request.object = null;
    expect(judge(review).verdict).toEqual({ allowed: true, warnings: [] });
  });

  it("allows a change to a subresource (scale, status) without judging it", () => {
    const review = withoutMetadata(admissionReview("statefulset-update"));
    review.request.subResource = "scale";
    expect(judge(review).reason).toBe("the scale subresource is not judged");
  });

  it("allows kinds other than Deployment, StatefulSet and InferenceService", () => {
    const review = withoutMetadata(admissionReview("deployment-create"));
    review.request.kind = { group: "", version: "v1", kind: "Pod" };
    expect(judge(review)).toMatchObject({ verdict: { allowed: true }, reason: "v1 Pod is not judged" });
  });

  it("allows an update that removes the label: the workload leaves Tenure's watch", () => {
    const review = label(withoutMetadata(admissionReview("statefulset-update")), {
      "tenure.dev/model": undefined,
    });
    expect(judge(review).verdict.allowed).toBe(true);
  });

  it("allows any update of a workload being deleted, so its finalizers can be removed", () => {
    const review = withoutMetadata(admissionReview("statefulset-update"));
    objectOf(review).metadata.deletionTimestamp = "2026-11-02T09:59:00Z";
    expect(judge(review).reason).toBe("it is being deleted");
  });
});

describe("updates of a workload whose problems predate the update", () => {
  /** A labelled StatefulSet stored without metadata (before the webhook), updated. */
  function grandfathered(): ReviewJson {
    const review = withoutMetadata(admissionReview("statefulset-update"));
    const old = review.request.oldObject;
    if (!old) throw new Error("fixture without oldObject");
    old.metadata.annotations = { ...objectOf(review).metadata.annotations };
    old.spec = structuredClone(objectOf(review).spec);
    return review;
  }

  it("allows a metadata-only update (a controller's annotation) with the problems as warnings", () => {
    const review = grandfathered();
    annotate(review, { "deployment.kubernetes.io/revision": "5" });
    const { verdict } = judge(review);
    expect(verdict.allowed).toBe(true);
    expect(verdict.warnings).toEqual([
      "annotation tenure.dev/model-version is missing",
      "annotation tenure.dev/training-data-cutoff is missing",
      "annotation tenure.dev/owner-team is missing",
      "allowed as only metadata changed; the next change to the spec is refused until these are fixed",
    ]);
  });

  it("denies an update that changes the spec while the problems remain", () => {
    const review = grandfathered();
    (objectOf(review).spec as { replicas: number }).replicas = 5;
    expect(judge(review).verdict.allowed).toBe(false);
  });

  it("denies a metadata-only update that breaks metadata that was valid", () => {
    const review = admissionReview("statefulset-update");
    const old = review.request.oldObject;
    if (!old) throw new Error("fixture without oldObject");
    old.spec = structuredClone(objectOf(review).spec);
    annotate(review, { "tenure.dev/owner-team": undefined });
    expect(judge(review).verdict.allowed).toBe(false);
  });

  it("denies an update that adds the label to a workload without metadata: opting in needs the metadata", () => {
    const review = grandfathered();
    const old = review.request.oldObject;
    if (!old) throw new Error("fixture without oldObject");
    old.metadata.labels = { app: "ranker" };
    expect(judge(review).verdict.allowed).toBe(false);
  });
});

describe("warnings for soft problems", () => {
  it("warns, and allows, when the training data is past the policy's max_data_age", () => {
    const subjects: PolicySubject[] = [];
    const policyFor = (subject: PolicySubject) => {
      subjects.push(subject);
      return policy({ name: "fraud-fast", max_data_age_seconds: 30 * DAY });
    };
    const { verdict } = judge(admissionReview("deployment-create"), { policyFor });
    expect(verdict).toEqual({
      allowed: true,
      warnings: ["training data is 32d old, past max_data_age 30d of policy fraud-fast"],
    });
    expect(subjects).toEqual([
      { model: "fraud-gbm", environment: "production", owner_team: "risk", tags: {} },
    ]);
  });

  it("judges data age at the limit as too old, as the sweep does", () => {
    const age = Math.floor((NOW - Date.parse("2026-10-01T00:00:00Z")) / 1000);
    const at = (max: number) =>
      judge(admissionReview("deployment-create"), {
        policyFor: () => policy({ max_data_age_seconds: max }),
      }).verdict.warnings;
    expect(at(age)).toHaveLength(1);
    expect(at(age + 1)).toEqual([]);
  });

  it("gives no data age warning under an exempt policy", () => {
    const { verdict } = judge(admissionReview("deployment-create"), {
      policyFor: () => policy({ exempt: true, max_data_age_seconds: DAY }),
    });
    expect(verdict.warnings).toEqual([]);
  });

  it("matches the policy on the tenure.dev/environment annotation", () => {
    const subjects: PolicySubject[] = [];
    judge(admissionReview("statefulset-update"), {
      policyFor: (subject) => {
        subjects.push(subject);
        return defaultPolicy();
      },
    });
    expect(subjects).toEqual([
      { model: "search-ranker", environment: "staging", owner_team: "search", tags: {} },
    ]);
  });

  it("warns when the registry has the model owned by another team", () => {
    expect(judge(admissionReview("deployment-create"), { registeredOwner: "fraud-ops" }).verdict).toEqual({
      allowed: true,
      warnings: ["model fraud-gbm is registered to team fraud-ops, not risk (tenure.dev/owner-team)"],
    });
    expect(judge(admissionReview("deployment-create"), { registeredOwner: "risk" }).verdict.warnings).toEqual(
      [],
    );
  });

  it("keeps warnings short enough that kubectl shows them whole (under 120 characters for usual names)", () => {
    const { verdict } = judge(admissionReview("deployment-create"), {
      registeredOwner: "fraud-operations",
      policyFor: () => policy({ name: "fraud-models-production", max_data_age_seconds: DAY }),
    });
    expect(verdict.warnings).toHaveLength(2);
    for (const warning of verdict.warnings) expect(warning.length).toBeLessThanOrEqual(120);
  });
});

describe("any labels and annotations", () => {
  it("never throws, and a denial names every required annotation that is missing", () => {
    const value = fc.string({ maxLength: 40 });
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...REQUIRED, "tenure.dev/environment", "other"), value),
        value,
        (annotations, model) => {
          const review = admissionReview("deployment-create");
          objectOf(review).metadata.annotations = annotations;
          label(review, { "tenure.dev/model": model });
          const { verdict } = judge(review);
          if (verdict.allowed) return;
          for (const key of REQUIRED) {
            if (annotations[key] === undefined)
              expect(verdict.message).toContain(`annotation ${key} is missing`);
          }
        },
      ),
    );
  });
});
