import { Validator } from "@seriousme/openapi-schema-validator";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  admissionReview,
  annotate,
  label,
  objectOf,
  REQUIRED,
  type ReviewJson,
  withoutMetadata,
} from "../support/admission-reviews.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-02T10:00:00Z");

const POLICIES = `
policies:
  - name: fraud-fresh-data
    match: { model: "fraud-*", environment: production }
    max_data_age: 21d
`;

describe.each(dialects())("POST /k8s/admission on %s", (dialect) => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW, admission: true, policies: POLICIES });
  });

  afterEach(async () => {
    await t.close();
  });

  /** Posts a review as the Kubernetes API server does: JSON, and no bearer token. */
  const post = (body: ReviewJson | string | unknown) =>
    t.request({ method: "POST", url: "/k8s/admission", body, token: null });

  it("allows a labelled Deployment with its three annotations, answering an AdmissionReview v1 with the request's uid", async () => {
    const review = annotate(admissionReview("deployment-create"), {
      "tenure.dev/training-data-cutoff": "2026-10-30",
    });
    const res = await post(review);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.json()).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "705ab4f5-6393-11e8-b7cc-42010a800002", allowed: true },
    });
  });

  it("denies a labelled Deployment without its annotations with 403 and a message naming each one missing", async () => {
    const res = await post(withoutMetadata(admissionReview("deployment-create")));
    expect(res.statusCode).toBe(200);
    const { response } = res.json();
    expect(response).toMatchObject({
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      allowed: false,
      status: { code: 403, reason: "Forbidden" },
    });
    for (const key of REQUIRED) expect(response.status.message).toContain(`annotation ${key} is missing`);
  });

  it("echoes each request's own uid", async () => {
    for (const uid of ["1b1e2f5c-0000-4000-8000-000000000001", "x"]) {
      const review = withoutMetadata(admissionReview("deployment-create"));
      review.request.uid = uid;
      expect((await post(review)).json().response.uid).toBe(uid);
    }
  });

  it("warns, and still allows, when the training data is older than the policy's max_data_age", async () => {
    const { response } = (await post(admissionReview("deployment-create"))).json();
    expect(response).toEqual({
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      allowed: true,
      warnings: ["training data is 32d old, past max_data_age 21d of policy fraud-fresh-data"],
    });
  });

  it("reads the policies the server loaded, again after a reload", async () => {
    const review = annotate(admissionReview("deployment-create"), {
      "tenure.dev/training-data-cutoff": "2026-10-30",
    });
    expect((await post(review)).json().response.warnings).toBeUndefined();
    const { writeFileSync } = await import("node:fs");
    writeFileSync(t.policiesPath ?? "", POLICIES.replace("21d", "1d"));
    t.context.policies.reload();
    expect((await post(review)).json().response.warnings).toEqual([
      "training data is 3d old, past max_data_age 1d of policy fraud-fresh-data",
    ]);
  });

  it("warns when the registry has the model owned by another team than the annotation says", async () => {
    const registered = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ training_data_cutoff: "2026-10-01", owner_team: "fraud-ops" }),
    });
    expect(registered.statusCode).toBe(201);
    const { response } = (await post(admissionReview("deployment-create"))).json();
    expect(response.allowed).toBe(true);
    expect(response.warnings).toContain(
      "model fraud-gbm is registered to team fraud-ops, not risk (tenure.dev/owner-team)",
    );
  });

  it("allows a workload without the tenure.dev/model label untouched", async () => {
    const review = label(withoutMetadata(admissionReview("deployment-create")), {
      "tenure.dev/model": undefined,
    });
    expect((await post(review)).json().response).toEqual({
      uid: "705ab4f5-6393-11e8-b7cc-42010a800002",
      allowed: true,
    });
  });

  it("allows a DELETE without judging it", async () => {
    const review = withoutMetadata(admissionReview("statefulset-update"));
    review.request.operation = "DELETE";
    review.request.oldObject = review.request.object;
    review.request.object = null;
    expect((await post(review)).json().response.allowed).toBe(true);
  });

  it("judges a StatefulSet update and a KServe InferenceService", async () => {
    for (const fixture of ["statefulset-update", "inferenceservice-create"] as const) {
      expect((await post(admissionReview(fixture))).json().response.allowed, fixture).toBe(true);
      const denied = (await post(withoutMetadata(admissionReview(fixture)))).json().response;
      expect(denied.allowed, fixture).toBe(false);
    }
  });

  it("judges a dryRun request as it would the real one, and records nothing", async () => {
    const real = withoutMetadata(admissionReview("deployment-create"));
    const dry = withoutMetadata(admissionReview("deployment-create"));
    dry.request.dryRun = true;
    expect((await post(dry)).json()).toEqual((await post(real)).json());
    const allowedDry = admissionReview("inferenceservice-create");
    expect(allowedDry.request.dryRun).toBe(true);
    expect((await post(allowedDry)).json().response.allowed).toBe(true);
    expect((await t.request({ method: "GET", url: "/v1/models" })).json()).toEqual({ items: [] });
  });

  it("takes no bearer token: the API server sends none", async () => {
    const review = admissionReview("deployment-create");
    expect((await post(review)).statusCode).toBe(200);
    const bad = await t.request({ method: "POST", url: "/k8s/admission", body: review, token: "tnr_wrong" });
    expect(bad.statusCode).toBe(200);
  });

  it("takes a review larger than the API's 1 MiB limit: an update carries two objects", async () => {
    const review = admissionReview("statefulset-update");
    annotate(review, { "kubectl.kubernetes.io/last-applied-configuration": "x".repeat(1200 * 1024) });
    const old = review.request.oldObject;
    if (old) old.metadata.annotations = { ...objectOf(review).metadata.annotations };
    const res = await post(review);
    expect(res.statusCode).toBe(200);
    expect(res.json().response.allowed).toBe(true);
  });

  it("refuses a review past 4 MiB with 413, saying the route's limit", async () => {
    const review = annotate(admissionReview("deployment-create"), { padding: "x".repeat(4 * 1024 * 1024) });
    const res = await post(review);
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({
      type: "https://tenure.dev/problems/too-large",
      detail: "the request body is larger than 4 MiB, the limit of POST /k8s/admission",
    });
  });

  it("decides without the database: a database that does not answer only skips the owner check", async () => {
    await t.context.database.close();
    const allowed = await post(
      annotate(admissionReview("deployment-create"), { "tenure.dev/training-data-cutoff": "2026-10-30" }),
    );
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json().response.allowed).toBe(true);
    const denied = await post(withoutMetadata(admissionReview("deployment-create")));
    expect(denied.json().response.allowed).toBe(false);
  });

  describe("a body that is not an AdmissionReview v1 is a 400 problem, never a 5xx", () => {
    const broken: Array<[string, () => unknown, string]> = [
      ["not JSON", () => '{"apiVersion": ', "malformed"],
      ["an array", () => [admissionReview("deployment-create")], "validation"],
      [
        "AdmissionReview v1beta1",
        () => ({ ...admissionReview("deployment-create"), apiVersion: "admission.k8s.io/v1beta1" }),
        "validation",
      ],
      [
        "another kind",
        () => ({ ...admissionReview("deployment-create"), kind: "TokenReview" }),
        "validation",
      ],
      ["no request", () => ({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview" }), "validation"],
    ];
    it.each(broken)("%s", async (_name, body, type) => {
      const res = await post(body());
      expect(res.statusCode).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.json()).toMatchObject({ type: `https://tenure.dev/problems/${type}`, status: 400 });
    });

    it("names the field: a missing uid, an unknown operation, a CREATE without its object, labels that are not strings", async () => {
      const cases: Array<[(review: ReviewJson) => void, { field: string; message: string }]> = [
        [(r) => Reflect.deleteProperty(r.request, "uid"), { field: "request.uid", message: "is required" }],
        [
          (r) => Object.assign(r.request, { uid: "" }),
          { field: "request.uid", message: "must not be empty" },
        ],
        [
          (r) => Object.assign(r.request, { operation: "PATCH" }),
          { field: "request.operation", message: expect.any(String) },
        ],
        [
          (r) => Object.assign(r.request, { object: null }),
          { field: "request.object", message: "is required for CREATE" },
        ],
        [
          (r) => Object.assign(objectOf(r).metadata, { labels: ["tenure.dev/model=fraud-gbm"] }),
          { field: "request.object.metadata.labels", message: expect.any(String) },
        ],
      ];
      for (const [edit, issue] of cases) {
        const review = admissionReview("deployment-create");
        edit(review);
        const res = await post(review);
        expect(res.statusCode).toBe(400);
        expect(res.json().errors).toEqual([issue]);
      }
    });

    it("a body of another media type is 415", async () => {
      const res = await t.request({
        method: "POST",
        url: "/k8s/admission",
        body: "apiVersion: admission.k8s.io/v1",
        token: null,
        headers: { "content-type": "application/yaml" },
      });
      expect(res.statusCode).toBe(415);
    });
  });

  it("is documented in a valid /openapi.json as a route that takes no token", async () => {
    const doc = (await t.request({ method: "GET", url: "/openapi.json" })).json();
    const operation = doc.paths["/k8s/admission"].post;
    expect(operation.security).toEqual([]);
    expect(Object.keys(operation.responses).sort()).toEqual(["200", "400", "413", "415"]);
    const result = await new Validator().validate(doc);
    expect(result.errors).toBeUndefined();
  });
});

describe.each(dialects())("without --k8s-admission on %s", (dialect) => {
  it("does not serve POST /k8s/admission at all", async () => {
    const t = await startTestApp(dialect);
    try {
      const res = await t.request({
        method: "POST",
        url: "/k8s/admission",
        body: admissionReview("deployment-create"),
        token: null,
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().detail).toBe("no route for POST /k8s/admission");
    } finally {
      await t.close();
    }
  });
});
