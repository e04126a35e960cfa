import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { FeedbackBody, ShadowQuery } from "../../monitoring/shadow-input.js";
import type { ShadowMonitor } from "../../monitoring/shadow-monitor.js";
import { ModelNameParams } from "../../registry/registry-input.js";
import { problemResponses } from "../schemas.js";

const Quantiles = z.object({ p50: z.number().nullable(), p99: z.number().nullable() });

const Verdict = z.object({
  verdict: z.enum(["candidate_better", "candidate_worse", "inconclusive"]),
  reason: z.string(),
  kind: z.enum(["classification", "regression"]).nullable(),
  test: z.enum(["mcnemar_exact", "paired_t"]).nullable(),
  labelled: z.number().int(),
  unusable: z.number().int(),
  primary_right_candidate_wrong: z.number().int().nullable(),
  primary_wrong_candidate_right: z.number().int().nullable(),
  primary_accuracy: z.number().nullable(),
  candidate_accuracy: z.number().nullable(),
  primary_mean_abs_error: z.number().nullable(),
  candidate_mean_abs_error: z.number().nullable(),
  t_statistic: z.number().nullable(),
  df: z.number().int().nullable(),
  p_value: z.number().nullable(),
  alpha: z.number(),
  min_labelled: z.number().int(),
});

const ShadowView = z.object({
  model: z.string(),
  environment: z.string(),
  primary: z.object({ deployment_id: z.number().int(), model_version: z.string() }).nullable(),
  shadows: z.array(
    z.object({
      deployment_id: z.number().int(),
      model_version: z.string(),
      pairs: z.number().int(),
      both_answered: z.number().int(),
      agreement_rate: z.number().nullable(),
      mean_abs_difference: z.number().nullable(),
      mean_rel_difference: z.number().nullable(),
      shadow_errors: z.number().int(),
      primary_errors: z.number().int(),
      primary_latency_ms: Quantiles,
      shadow_latency_ms: Quantiles,
      labelled: z.number().int(),
      verdict: Verdict,
    }),
  ),
  window_limit: z.number().int(),
  retention_seconds: z.number(),
});

export function shadowRoutes(app: FastifyInstance, shadow: ShadowMonitor): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/feedback",
    {
      // 10,000 items with 1 KiB labels could pass 1 MiB: room for them, still bounded.
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        summary: "Ground truth for served requests, by request id, up to 10,000 a request",
        description:
          "A label may arrive before its request's shadow pair, or for a request never mirrored: it is stored all the same " +
          "and meets its pair when one is reported. It scores a canary's predictions too: a request answered by a model's " +
          "primary or its canary while the canary ran is weighed by the canary's analyses. A later label for a request replaces the first.",
        tags: ["shadow"],
        body: FeedbackBody,
        response: {
          200: z.object({ accepted: z.number().int() }),
          ...problemResponses(400, 401, 403, 413),
        },
      },
    },
    async (request) => shadow.recordFeedback(request.body.items),
  );

  r.get(
    "/v1/models/:name/shadow",
    {
      schema: {
        summary: "Each live shadow of a model compared with its primary on the same requests, with a verdict",
        description:
          "Over the newest pairs against the current live primary: agreement (classes) or mean absolute and relative " +
          "difference (numbers), each side's latency, and where " +
          "labels exist McNemar's exact test (classes) or the paired t-test on absolute errors (numbers): " +
          "candidate_better, candidate_worse or inconclusive, with the counts behind it.",
        tags: ["shadow"],
        params: ModelNameParams,
        querystring: ShadowQuery,
        response: { 200: ShadowView, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => shadow.compare(request.params.name, request.query.environment),
  );
}
