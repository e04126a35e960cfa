import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { ROLES, STATUSES } from "../../core/words.js";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { MODEL_HISTORY_DEPLOYMENTS } from "../../lifecycle/started-deployments.js";
import { decimalInt, metricName, slug } from "../../registry/deployment-input.js";
import { ModelNameParams } from "../../registry/registry-input.js";
import { problemResponses } from "../schemas.js";

const timestamp = z.string().describe("ISO 8601 UTC with milliseconds");
const DRIFT_STATES = ["stable", "possible", "drifted"] as const;

const PerformanceQuery = z.strictObject({
  environment: slug().default("production"),
  metric: metricName().optional().describe("default: the metric the live primary's policy judges"),
});

const seconds = z.number().int().nonnegative();
const DecayView = z
  .object({
    metric: z.string().nullable().describe("the metric the leading deployment's policy judges"),
    direction: z.enum(["higher", "lower"]).nullable(),
    curve: z
      .object({
        slope_per_day: z.number().describe("the metric's change per day of deployment age"),
        interval_per_day: z.tuple([z.number(), z.number()]),
        intercept: z.number().describe("the fitted metric at age 0"),
        spread_per_day: z.tuple([z.number(), z.number()]).describe("the least and greatest versions' slopes"),
        consistent: z.boolean(),
        based_on_deployments: z.number().int(),
        based_on_windows: z.number().int(),
      })
      .nullable(),
    reason: z.string().nullable().describe("why there is no curve"),
    suggestion: z
      .object({
        current_max_age_seconds: seconds,
        suggested_max_age_seconds: seconds,
        reason: z.string(),
        evidence: z.object({
          metric: z.string(),
          direction: z.enum(["higher", "lower"]),
          threshold: z.number(),
          level_at_zero: z.number(),
          slope_per_day: z.number(),
          interval_per_day: z.tuple([z.number(), z.number()]),
          spread_per_day: z.tuple([z.number(), z.number()]),
          consistent: z.boolean(),
          crossing_age_seconds: z.tuple([seconds.nullable(), seconds.nullable(), seconds.nullable()]),
          label_delay_seconds: seconds,
          lead_time_seconds: seconds,
          based_on_deployments: z.number().int(),
          based_on_windows: z.number().int(),
        }),
      })
      .nullable(),
    suggestion_reason: z.string().nullable(),
    forecast: z
      .object({
        deployment_id: z.number().int(),
        model_version: z.string(),
        metric: z.string(),
        threshold: z.number(),
        breach_at: timestamp,
        breach_in_seconds: seconds,
        interval_seconds: z.tuple([seconds, seconds.nullable()]),
        slope_per_day: z.number(),
        based_on_deployments: z.number().int(),
        based_on_windows: z.number().int(),
      })
      .nullable(),
    forecast_reason: z.string().nullable(),
  })
  .describe(
    "the model's decay curve learned from its deployments' judged windows, the TTL it suggests and the live deployment's forecast crossing",
  );

const ModelPerformance = z.object({
  model: z.string(),
  environment: z.string(),
  metric: z
    .object({ name: z.string(), direction: z.enum(["higher", "lower"]), target: z.number().nullable() })
    .nullable()
    .describe("null when no deployment has metric points"),
  metrics: z.array(z.string()).describe("every metric any of the deployments has points of"),
  deployments: z.array(
    z.object({
      deployment_id: z.number().int(),
      model_version: z.string(),
      role: z.enum(ROLES),
      status: z.enum(STATUSES),
      deployment_date: timestamp,
      ended_at: timestamp.nullable(),
      policy: z.string(),
      ttl_seconds: z.number().int(),
      due_at: timestamp.describe("the review point: deployment_date + review_at × TTL"),
      expires_at: timestamp,
      target: z.number().nullable().describe("its policy's target for this metric"),
      baseline: z.number().nullable(),
      threshold: z.number().nullable(),
      state: z.string().nullable().describe("ok, degraded or insufficient_data while live and judged"),
      windows: z.array(
        z.object({
          start: timestamp,
          end: timestamp,
          samples: z.number(),
          mean: z.number(),
          state: z.string(),
        }),
      ),
    }),
  ),
  decay: DecayView,
});

const DriftQuery = z.strictObject({
  environment: slug().default("production"),
  days: decimalInt(1, 90).default(30).describe("how many days back, up to 90"),
});

const ModelDrift = z.object({
  model: z.string(),
  environment: z.string(),
  days: z.number().int(),
  deployments: z.array(
    z.object({
      deployment_id: z.number().int(),
      model_version: z.string(),
      role: z.enum(ROLES),
      status: z.enum(STATUSES),
      drift_state: z.string().nullable().describe("the verdict the last sweep kept"),
      reference: z.enum(["stored", "first_day"]).nullable(),
      checks: z.array(
        z.object({
          day: timestamp,
          state: z.enum([...DRIFT_STATES, "error"]),
          drifted_share: z.number().nullable(),
          error: z.string().nullable(),
          features: z.array(
            z.object({
              feature: z.string(),
              kind: z.string(),
              method: z.string(),
              statistic: z.number().nullable(),
              p_value: z.number().nullable(),
              score: z.number().nullable(),
              threshold: z.number(),
              state: z.enum(DRIFT_STATES),
              current_size: z.number().int(),
            }),
          ),
        }),
      ),
    }),
  ),
});

/** The reads behind a model's page: one request per panel, for all of its deployments in an environment. */
export function modelHistoryRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/models/:name/performance",
    {
      schema: {
        summary:
          "One metric of every deployment of a model in an environment, window by window, with the policy dates",
        description:
          "Each deployment's windows judged by its own policy, with its target, baseline, review point (due_at) and " +
          `expiry: what the Age vs Performance chart draws. The newest ${MODEL_HISTORY_DEPLOYMENTS} deployments that have started, oldest first.`,
        tags: ["monitoring"],
        params: ModelNameParams,
        querystring: PerformanceQuery,
        response: { 200: ModelPerformance, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      lifecycle.modelPerformance(request.params.name, request.query.environment, request.query.metric),
  );

  r.get(
    "/v1/models/:name/drift",
    {
      schema: {
        summary: "Input drift of a model's deployments in an environment, feature by feature, day by day",
        description:
          "For each day with live samples, the comparison a sweep at the end of that day would have made: the " +
          "policy's window of days against the reference, each feature's method, statistic, p-value or score, " +
          "threshold and state.",
        tags: ["monitoring"],
        params: ModelNameParams,
        querystring: DriftQuery,
        response: { 200: ModelDrift, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) =>
      lifecycle.modelDrift(request.params.name, request.query.environment, request.query.days),
  );
}
