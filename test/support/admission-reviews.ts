import { readFileSync } from "node:fs";
import { resolve } from "node:path";

/**
 * AdmissionReview v1 bodies as a Kubernetes API server sends them (the shape of the examples in
 * kubernetes.io's "Dynamic Admission Control", with the fields a real server fills in), read
 * from test/fixtures/kubernetes/ and changed per test.
 */
export type ReviewFixture = "deployment-create" | "statefulset-update" | "inferenceservice-create";

export interface ObjectJson {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    deletionTimestamp?: string;
    [key: string]: unknown;
  };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

export interface ReviewJson {
  apiVersion: string;
  kind: string;
  request: {
    uid: string;
    kind: { group: string; version: string; kind: string };
    resource: { group: string; version: string; resource: string };
    subResource?: string;
    name?: string;
    namespace?: string;
    operation: string;
    object: ObjectJson | null;
    oldObject: ObjectJson | null;
    dryRun?: boolean;
    [key: string]: unknown;
  };
}

const FIXTURES = resolve(import.meta.dirname, "../fixtures/kubernetes");

export function admissionReview(fixture: ReviewFixture): ReviewJson {
  return JSON.parse(readFileSync(resolve(FIXTURES, `${fixture}.json`), "utf8")) as ReviewJson;
}

/** The review's object, which every fixture has. */
export function objectOf(review: ReviewJson): ObjectJson {
  if (!review.request.object) throw new Error("the review has no object");
  return review.request.object;
}

/** Sets (a string) or removes (undefined) annotations of the review's object. */
export function annotate(review: ReviewJson, changes: Record<string, string | undefined>): ReviewJson {
  const metadata = objectOf(review).metadata;
  const annotations = { ...metadata.annotations };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete annotations[key];
    else annotations[key] = value;
  }
  metadata.annotations = annotations;
  return review;
}

/** Sets (a string) or removes (undefined) labels of the review's object. */
export function label(review: ReviewJson, changes: Record<string, string | undefined>): ReviewJson {
  const metadata = objectOf(review).metadata;
  const labels = { ...metadata.labels };
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete labels[key];
    else labels[key] = value;
  }
  metadata.labels = labels;
  return review;
}

export const REQUIRED = [
  "tenure.dev/model-version",
  "tenure.dev/training-data-cutoff",
  "tenure.dev/owner-team",
] as const;

/** The review with all of Tenure's annotations removed from its object. */
export function withoutMetadata(review: ReviewJson): ReviewJson {
  return annotate(review, Object.fromEntries(REQUIRED.map((key) => [key, undefined])));
}
