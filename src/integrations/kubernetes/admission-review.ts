import { z } from "zod";

/**
 * Kubernetes' AdmissionReview, version admission.k8s.io/v1, as the API server sends it to a
 * validating webhook and expects it back (kubernetes.io/docs/reference/config-api/apiserver-admission.v1/).
 * Only what Tenure reads is checked; the API server's other fields (userInfo, options,
 * requestKind, …) pass through unread, so a newer API server that adds fields is still understood.
 */

export const ADMISSION_API_VERSION = "admission.k8s.io/v1";
export const ADMISSION_KIND = "AdmissionReview";

export const ADMISSION_OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;

const GroupVersionKind = z.looseObject({
  group: z.string().describe('"" for the core group'),
  version: z.string(),
  kind: z.string(),
});

const GroupVersionResource = z.looseObject({
  group: z.string(),
  version: z.string(),
  resource: z.string(),
});

const stringMap = z.record(z.string(), z.string()).nullish();

/** The part of any Kubernetes object the webhook reads: its metadata and, to compare, its spec. */
const KubernetesObject = z.looseObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  metadata: z
    .looseObject({
      name: z.string().optional(),
      generateName: z.string().optional(),
      namespace: z.string().optional(),
      labels: stringMap,
      annotations: stringMap,
      deletionTimestamp: z.string().nullish(),
    })
    .optional(),
  spec: z.unknown().optional(),
});
export type KubernetesObject = z.infer<typeof KubernetesObject>;

const AdmissionRequest = z
  .looseObject({
    uid: z.string().min(1, "must not be empty").describe("echoed in the response"),
    kind: GroupVersionKind,
    resource: GroupVersionResource,
    subResource: z.string().optional(),
    name: z.string().optional(),
    namespace: z.string().optional(),
    operation: z.enum(ADMISSION_OPERATIONS),
    object: KubernetesObject.nullish().describe("the object as it would be stored; null for DELETE"),
    oldObject: KubernetesObject.nullish().describe("the stored object, for UPDATE and DELETE"),
    dryRun: z.boolean().optional(),
  })
  .superRefine((request, context) => {
    if ((request.operation === "CREATE" || request.operation === "UPDATE") && !request.object) {
      context.addIssue({ code: "custom", path: ["object"], message: `is required for ${request.operation}` });
    }
  });
export type AdmissionRequest = z.infer<typeof AdmissionRequest>;

export const AdmissionReviewRequest = z.looseObject({
  apiVersion: z.literal(ADMISSION_API_VERSION, { error: `must be ${ADMISSION_API_VERSION}` }),
  kind: z.literal(ADMISSION_KIND, { error: `must be ${ADMISSION_KIND}` }),
  request: AdmissionRequest,
});
export type AdmissionReviewRequest = z.infer<typeof AdmissionReviewRequest>;

/** A denial's status, a metav1.Status: the API server shows its code and message to the client. */
const DenialStatus = z.object({
  code: z.number().int(),
  reason: z.string(),
  message: z.string(),
});

export const AdmissionReviewResponse = z.object({
  apiVersion: z.literal(ADMISSION_API_VERSION),
  kind: z.literal(ADMISSION_KIND),
  response: z.object({
    uid: z.string().describe("the request's uid"),
    allowed: z.boolean(),
    status: DenialStatus.optional().describe("with a denial: why, as the client will read it"),
    warnings: z
      .array(z.string())
      .optional()
      .describe("soft problems, shown by kubectl as `Warning:` lines; the request is still allowed"),
  }),
});
export type AdmissionReviewResponse = z.infer<typeof AdmissionReviewResponse>;

/** What the webhook decided about one request. */
export type AdmissionVerdict =
  | { allowed: true; warnings: string[] }
  | { allowed: false; message: string; warnings: string[] };

/**
 * The review sent back: the request's uid echoed (the API server refuses a response for another
 * uid), and a denial as Kubernetes' own webhooks answer one, 403 Forbidden with a message. The
 * API server prefixes the message with the webhook's name before the client sees it.
 */
export function admissionResponse(uid: string, verdict: AdmissionVerdict): AdmissionReviewResponse {
  return {
    apiVersion: ADMISSION_API_VERSION,
    kind: ADMISSION_KIND,
    response: {
      uid,
      allowed: verdict.allowed,
      ...(verdict.allowed ? {} : { status: { code: 403, reason: "Forbidden", message: verdict.message } }),
      ...(verdict.warnings.length > 0 ? { warnings: verdict.warnings } : {}),
    },
  };
}
