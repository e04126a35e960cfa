import { describe, expect, it } from "vitest";
import { defaultPolicy, singlePolicy } from "../../../src/core/policy.js";
import { AdmissionReviewRequest } from "../../../src/integrations/kubernetes/admission-review.js";
import { AdmissionWebhook } from "../../../src/integrations/kubernetes/admission-webhook.js";
import type { ModelRecord } from "../../../src/store/model-store.js";
import { admissionReview, annotate, label, withoutMetadata } from "../../support/admission-reviews.js";

const NOW = Date.parse("2026-11-02T10:00:00Z");

function webhook(findModel: (name: string) => Promise<ModelRecord | undefined>, lookupTimeoutMs = 50) {
  return new AdmissionWebhook({
    policies: singlePolicy({ ...defaultPolicy(), name: "strict", max_data_age_seconds: 86_400 }),
    models: { findModel },
    clock: () => NOW,
    lookupTimeoutMs,
  });
}

const review = (edit = admissionReview("deployment-create")) => AdmissionReviewRequest.parse(edit);

describe("the admission webhook's lookups", () => {
  it("reads the model's registered owner and warns when it differs", async () => {
    const asked: string[] = [];
    const outcome = await webhook(async (name) => {
      asked.push(name);
      return { name, owner_team: "fraud-ops", created_at: 0 };
    }).review(review());
    expect(asked).toEqual(["fraud-gbm"]);
    expect(outcome.owner_lookup).toBe("found");
    expect(outcome.review.response.warnings).toContain(
      "model fraud-gbm is registered to team fraud-ops, not risk (tenure.dev/owner-team)",
    );
  });

  it("answers without the owner check when the database does not answer in time, and still decides", async () => {
    const hanging = webhook(() => new Promise(() => {}), 50);
    const started = performance.now();
    const allowed = await hanging.review(review());
    const denied = await hanging.review(review(withoutMetadata(admissionReview("deployment-create"))));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(allowed.owner_lookup).toBe("timed-out");
    expect(allowed.review.response).toMatchObject({
      allowed: true,
      warnings: [expect.stringMatching(/^training data/)],
    });
    expect(denied.review.response.allowed).toBe(false);
  });

  it("answers without the owner check when the database fails, keeping the error for the log", async () => {
    const failure = new Error("connection refused");
    const outcome = await webhook(() => Promise.reject(failure)).review(review());
    expect(outcome).toMatchObject({ owner_lookup: "failed", lookup_error: failure });
    expect(outcome.review.response.allowed).toBe(true);
  });

  it("does not look the model up for a request it does not judge, nor for a label that is not a model name", async () => {
    const asked: string[] = [];
    const lookup = webhook(async (name) => {
      asked.push(name);
      return undefined;
    });
    const unlabelled = await lookup.review(
      review(label(admissionReview("deployment-create"), { "tenure.dev/model": undefined })),
    );
    const deletion = admissionReview("statefulset-update");
    deletion.request.operation = "DELETE";
    await lookup.review(review(deletion));
    await lookup.review(
      review(label(admissionReview("deployment-create"), { "tenure.dev/model": "Not A Slug" })),
    );
    expect(asked).toEqual([]);
    expect(unlabelled.owner_lookup).toBe("not-needed");
  });

  it("takes a model the registry does not know yet without a warning about its owner", async () => {
    const outcome = await webhook(async () => undefined).review(
      review(
        annotate(admissionReview("deployment-create"), { "tenure.dev/training-data-cutoff": "2026-11-02" }),
      ),
    );
    expect(outcome.owner_lookup).toBe("unknown-model");
    expect(outcome.review.response).toEqual({ uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true });
  });
});
