import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import {
  AdmissionReviewRequest,
  AdmissionReviewResponse,
} from "../../integrations/kubernetes/admission-review.js";
import type { AdmissionWebhook } from "../../integrations/kubernetes/admission-webhook.js";
import { problemResponses } from "../schemas.js";

/**
 * A review carries the object and, for an UPDATE, the stored one: each may be as large as etcd
 * takes (1.5 MiB by default), which the API's 1 MiB limit for everything else would refuse.
 */
const REVIEW_BODY_LIMIT = 4 * 1024 * 1024;

/**
 * `POST /k8s/admission`: Kubernetes' validating admission webhook (AdmissionReview v1). The API
 * server calls it without Tenure's bearer token, so it sits outside the /v1 scope and is served
 * only when the server is started with it (`--k8s-admission`); reach it from the API server
 * alone, over TLS (docs/integrations/kubernetes.md). A review that is not one is a 400 problem.
 */
export function admissionRoutes(app: FastifyInstance, webhook: AdmissionWebhook): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/k8s/admission",
    {
      bodyLimit: REVIEW_BODY_LIMIT,
      schema: {
        summary: "Kubernetes admission: refuse a labelled workload without its deployment metadata",
        description:
          "A ValidatingAdmissionWebhook for Deployments, StatefulSets and KServe InferenceServices labelled " +
          "tenure.dev/model: each must carry the annotations tenure.dev/model-version, " +
          "tenure.dev/training-data-cutoff and tenure.dev/owner-team. Called by the Kubernetes API server, " +
          "without a bearer token; served only with `tenure serve --k8s-admission`.",
        tags: ["integrations"],
        security: [],
        body: AdmissionReviewRequest,
        response: { 200: AdmissionReviewResponse, ...problemResponses(400, 413, 415) },
      },
    },
    async (request) => {
      const outcome = await webhook.review(request.body);
      const { uid, kind, namespace, name, operation, dryRun } = request.body.request;
      const fields = {
        uid,
        kind: kind.kind,
        namespace,
        name,
        operation,
        dry_run: dryRun ?? false,
        allowed: outcome.review.response.allowed,
        reason: outcome.judgement.reason,
        owner_lookup: outcome.owner_lookup,
      };
      if (outcome.owner_lookup === "failed" || outcome.owner_lookup === "timed-out") {
        request.log.warn(
          { ...fields, err: outcome.lookup_error },
          "admission: the model's owner could not be read in time; its check was skipped",
        );
      }
      // Denials are what an operator looks for; every other answer is logged at debug.
      if (outcome.review.response.allowed) request.log.debug(fields, "admission review");
      else request.log.info(fields, "admission review: denied");
      return outcome.review;
    },
  );
}
