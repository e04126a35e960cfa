import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { GateBody } from "../../lifecycle/gate-input.js";
import type { PromotionGate } from "../../lifecycle/promotion-gate.js";
import { ModelNameParams } from "../../registry/registry-input.js";
import { problemResponses } from "../schemas.js";

const timestamp = z.string().describe("ISO 8601 UTC with milliseconds");
const status = z.enum(["pass", "fail", "skip"]).describe("skip: not compared, and not needed to decide");
const direction = z.enum(["higher", "lower"]);

const MetricCheck = z.object({
  kind: z.literal("metric"),
  name: z.string().describe("the metric"),
  status,
  summary: z.string(),
  direction,
  candidate_value: z.number(),
  candidate_sample_size: z.number().int().nullable(),
  primary_value: z.number().nullable().describe("the primary's recent judged windows, sample-weighted"),
  primary_sample_size: z.number().nullable(),
  primary_windows: z.array(
    z.object({
      start: z.number().int().describe("epoch ms"),
      end: z.number().int().describe("epoch ms"),
      samples: z.number(),
      mean: z.number(),
    }),
  ),
  improvement: z.number().nullable().describe("how much better the candidate is, in its direction"),
  min_improvement: z.number(),
  test: z
    .enum(["fisher_exact", "welch_t_rates", "welch_t_windows"])
    .nullable()
    .describe(
      "fisher_exact: a rate with sample sizes; welch_t_rates: the same past 100,000 tables with its margins; " +
        "welch_t_windows: the candidate's values against the primary's window means; null: the margin alone decides",
    ),
  p_value: z.number().nullable().describe("two-sided"),
  alpha: z.number(),
});

const CutoffCheck = z.object({
  kind: z.literal("training_data_cutoff"),
  name: z.literal("training data"),
  status,
  summary: z.string(),
  candidate: timestamp,
  primary: timestamp.nullable(),
  newer_by_seconds: z.number().int().nullable(),
  source: z.enum(["candidate", "registry"]),
});

const DataAgeCheck = z.object({
  kind: z.literal("data_age"),
  name: z.literal("data age"),
  status,
  summary: z.string(),
  data_age_seconds: z.number().int(),
  max_data_age_seconds: z.number().int().nullable(),
  policy: z.string(),
});

const VerdictCheck = z.object({
  kind: z.literal("shadow_verdict"),
  name: z.literal("shadow or canary"),
  status,
  summary: z.string(),
  verdicts: z.array(
    z.object({
      source: z.enum(["shadow", "canary"]),
      deployment_id: z.number().int(),
      verdict: z.enum(["candidate_better", "candidate_worse", "inconclusive"]),
      reason: z.string(),
    }),
  ),
});

const GateDecision = z.object({
  decision: z.enum(["promote", "block"]),
  summary: z.string(),
  model: z.string(),
  environment: z.string(),
  candidate: z.object({
    model_version: z.string(),
    training_data_cutoff: timestamp,
    cutoff_source: z.enum(["candidate", "registry"]),
  }),
  primary: z
    .object({ deployment_id: z.number().int(), model_version: z.string(), training_data_cutoff: timestamp })
    .nullable(),
  policy: z.string(),
  min_improvement: z.number(),
  alpha: z.number(),
  checks: z.array(z.discriminatedUnion("kind", [MetricCheck, CutoffCheck, DataAgeCheck, VerdictCheck])),
});

export function gateRoutes(app: FastifyInstance, gate: PromotionGate): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/models/:name/gate",
    {
      // It changes nothing: a read token suffices. A POST only because the candidate's figures
      // (up to 100 metrics, each with per-fold values) do not belong in a query string.
      config: { readOnly: true },
      schema: {
        summary: "The champion-vs-challenger gate: may this candidate version replace the live primary?",
        description:
          "Each metric of the candidate against the live primary's recent judged windows (better by min_improvement, " +
          "in the metric's direction, and significantly so when sample sizes or per-fold values allow a test), its " +
          "training_data_cutoff newer than the primary's and within the policy's max_data_age, and with require_shadow " +
          "a candidate_better verdict from a live shadow or canary. Answers 200 with decision promote or block, and one " +
          "check per line of evidence. Changes nothing: a read token suffices.",
        tags: ["models"],
        params: ModelNameParams,
        body: GateBody,
        response: { 200: GateDecision, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => gate.judge(request.params.name, request.body),
  );
}
