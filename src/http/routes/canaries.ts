import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { CANARY_STATES, CANARY_VERDICTS } from "../../core/words.js";
import type { Canaries } from "../../gateway/canaries.js";
import { CanaryQuery, ModelNameParams } from "../../registry/registry-input.js";
import { Deployment, problemResponses } from "../schemas.js";

const timestamp = z.string().describe("ISO 8601 UTC with milliseconds");

const SideFigures = z.object({
  requests: z.number().int(),
  errors: z.number().int(),
  error_rate: z.number().nullable(),
  p99_ms: z.number().nullable(),
});

const LabelSide = z.object({
  labelled: z.number().int().describe("labelled requests the test used"),
  unusable: z.number().int().describe("regression: labelled requests whose answer held no number"),
  errors: z.number().int().nullable().describe("classification: wrong predictions (no prediction is wrong)"),
  error_rate: z.number().nullable().describe("classification: errors ÷ labelled"),
  mean_abs_error: z.number().nullable().describe("regression: the mean absolute error"),
});

const LabelFigures = z
  .object({
    counted: z
      .boolean()
      .describe("whether both sides had min_labels labelled requests; if not, labels did not count"),
    worse: z.boolean().describe("the canary is significantly worse: this alone fails the analysis"),
    reason: z.string(),
    kind: z.enum(["classification", "regression"]).nullable(),
    test: z
      .enum(["fisher_exact", "welch_t"])
      .nullable()
      .describe(
        "Fisher's exact test on the error rates (classes), Welch's t-test on the absolute errors (numbers)",
      ),
    primary: LabelSide,
    canary: LabelSide,
    t_statistic: z.number().nullable(),
    df: z.number().nullable(),
    p_value: z.number().nullable().describe("two-sided; null when the comparison did not count"),
    alpha: z.number(),
    min_labels: z.number().int(),
  })
  .describe(
    "each side's requests since the canary started whose label arrived (POST /v1/feedback), compared unpaired",
  );

export const CanaryAnalysis = z.object({
  id: z.number().int(),
  at: timestamp,
  window_start: timestamp,
  window_end: timestamp,
  verdict: z.enum(CANARY_VERDICTS),
  action: z.string().describe("what followed: hold, advance, promote, rollback or pause"),
  step_index: z.number().int(),
  weight: z.number().int(),
  reasons: z.array(z.string()),
  figures: z
    .looseObject({
      primary: SideFigures,
      canary: SideFigures,
      min_requests: z.number().int(),
      error_rate_margin: z.number().nullable(),
      p99_limit_ms: z.number().nullable(),
      labels: LabelFigures.nullable(),
    })
    .describe("each side's figures over the window, the margins, and the comparison on labelled requests"),
});

export const Canary = z.object({
  model: z.string(),
  environment: z.string(),
  deployment: Deployment,
  primary_id: z.number().int().nullable(),
  state: z.enum(CANARY_STATES),
  weight: z.number().int().nullable(),
  sticky_header: z.string().nullable(),
  steps: z.array(z.number().int()).nullable(),
  step_index: z.number().int(),
  failures: z.number().int(),
  inconclusive_streak: z.number().int(),
  config: z.object({
    interval_seconds: z.number().int(),
    failure_limit: z.number().int(),
    min_requests: z.number().int(),
    min_labels: z.number().int(),
    inconclusive_limit: z.number().int(),
    max_error_rate_increase: z.number(),
    max_p99_ratio: z.number(),
  }),
  next_analysis_at: timestamp.nullable(),
  created_at: timestamp,
  updated_at: timestamp,
  analyses: z.array(CanaryAnalysis),
});

export function canaryRoutes(app: FastifyInstance, canaries: Canaries): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/models/:name/canary",
    {
      schema: {
        summary: "A model's newest canary in an environment: its state, weight, settings and analyses",
        tags: ["models"],
        params: ModelNameParams,
        querystring: CanaryQuery,
        response: { 200: Canary, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => canaries.get(request.params.name, request.query.environment, request.query.limit),
  );
}
