import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { UnauthenticatedError } from "../../core/errors.js";
import { DATE_BASES } from "../../core/sync-plan.js";
import type { MlflowWebhook } from "../../integrations/mlflow/mlflow-webhook.js";
import { JSON_TYPE } from "../body-types.js";
import { problem, sendProblem } from "../problem.js";
import { problemResponses } from "../schemas.js";

/**
 * The challenge of a 401 here: RFC 9110 §11.6.1 wants one, and a bearer token is not what this
 * route takes.
 */
const CHALLENGE = 'MLflow-Signature realm="tenure"';

const SyncReport = z.object({
  source: z.string(),
  dry_run: z.boolean(),
  started_at: z.string(),
  finished_at: z.string(),
  observed: z.number().int(),
  registered: z.array(
    z.object({
      ref: z.string(),
      model: z.string(),
      model_version: z.string(),
      environment: z.string(),
      deployment_date: z.string(),
      basis: z.enum(DATE_BASES),
      supersedes: z.object({ id: z.number().int(), model_version: z.string() }).nullable(),
      deployment_id: z.number().int().nullable(),
    }),
  ),
  unchanged: z.number().int(),
  findings: z.array(
    z.looseObject({
      kind: z.string().describe("missing_metadata, conflict, ghost, zombie, version_mismatch"),
      ref: z.string(),
    }),
  ),
  errors: z.array(
    z.object({ ref: z.string(), model: z.string(), model_version: z.string(), message: z.string() }),
  ),
});

const Answer = z.object({
  delivery_id: z.string(),
  event: z.string().describe("MLflow's entity.action, such as model_version_alias.created"),
  outcome: z.enum(["recorded", "unchanged", "held", "ignored", "duplicate"]),
  detail: z.string(),
  report: SyncReport.nullable().describe("what the sync plan did, as `tenure sync mlflow --json` reports it"),
});

/**
 * `POST /v1/hooks/mlflow`, MLflow's model registry webhooks. Registered in a scope of its own,
 * outside the bearer token's: MLflow cannot send a token, and the signature is the credential.
 * Without a secret configured the route answers 404, and never takes an unsigned delivery.
 */
export function mlflowHookRoutes(app: FastifyInstance, hook: MlflowWebhook | undefined): void {
  // The signature covers the body's bytes as MLflow sent them, so this scope keeps them as they
  // came; the webhook parses them only once the signature matches.
  app.removeContentTypeParser(JSON_TYPE);
  app.addContentTypeParser(JSON_TYPE, { parseAs: "buffer" }, function rawJsonBody(_request, body, done) {
    done(null, body);
  });
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.post(
    "/v1/hooks/mlflow",
    {
      schema: {
        summary: "Receive an MLflow model registry webhook (signed)",
        description:
          "MLflow 3.3+ webhooks: `model_version_alias.created` on the served alias records a deployment " +
          "since the delivery's time; `model_version_tag.set` may complete a version held for missing " +
          "metadata; other events are acknowledged. Authenticated by `X-MLflow-Signature` (`v1,` and the " +
          "base64 HMAC-SHA256 of `{delivery id}.{timestamp}.{raw body}`), not by a bearer token.",
        tags: ["integrations"],
        security: [],
        headers: z.looseObject({
          "x-mlflow-signature": z.string().optional(),
          "x-mlflow-delivery-id": z.string().optional(),
          "x-mlflow-timestamp": z.string().optional().describe("Unix seconds"),
        }),
        response: {
          200: Answer,
          ...problemResponses(400, 401, 404, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      if (!hook) {
        return sendProblem(
          reply,
          problem(
            404,
            "not-found",
            "MLflow webhooks are off on this server: start it with --mlflow-webhook-secret or " +
              "TENURE_MLFLOW_WEBHOOK_SECRET (and --mlflow-url)",
          ),
        );
      }
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      try {
        return await hook.receive(body, request.headers);
      } catch (error) {
        if (error instanceof UnauthenticatedError) reply.header("www-authenticate", CHALLENGE);
        throw error;
      }
    },
  );
}
