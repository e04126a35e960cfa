import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { REPORT_HORIZON_SECONDS } from "../../core/rot-report.js";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { ReportQuery } from "../../lifecycle/lifecycle-input.js";
import { problemResponses } from "../schemas.js";

const timestamp = z.string().describe("ISO 8601 UTC with milliseconds");
const seconds = z.number().int();
const Subject = {
  deployment_id: z.number().int(),
  model: z.string(),
  model_version: z.string(),
  environment: z.string(),
};
const StateItem = z.object({
  ...Subject,
  current: z.boolean().describe("degraded (or drifted) now"),
  in_period: z.boolean().describe("an alert of it opened in the period"),
  opened_at: timestamp.nullable(),
  resolved_at: timestamp.nullable(),
  resolution: z.string().nullable(),
  metric: z.string().nullable(),
  value: z.number().nullable(),
  target: z.number().nullable(),
  drop: z.number().nullable().describe("performance: the drop against the baseline"),
  share: z.number().nullable().describe("drift: the share of features that drifted"),
});
const AgeItem = z.object({
  ...Subject,
  deployment_age_seconds: seconds,
  ttl_seconds: seconds,
  ttl_fraction: z.number(),
  data_age_seconds: seconds,
  max_data_age_seconds: seconds.nullable(),
});

export const RotReport = z.object({
  generated_at: timestamp,
  since: timestamp.describe("the start of the period"),
  since_seconds: seconds,
  horizon_seconds: seconds.describe(
    `how far ahead expiries and breaches are looked for (${REPORT_HORIZON_SECONDS} s)`,
  ),
  teams: z.array(
    z.object({
      owner_team: z.string(),
      live: z.number().int(),
      expired: z.array(
        z.object({
          ...Subject,
          current: z.boolean().describe("still live and expired; false: expired in the period, ended since"),
          in_period: z.boolean(),
          expired_at: timestamp,
          deployment_age_seconds: seconds.nullable(),
          ttl_seconds: seconds.nullable(),
          overdue_seconds: seconds.nullable(),
          resolution: z.string().nullable(),
        }),
      ),
      due: z.array(
        z.object({
          ...Subject,
          stage: z.string().nullable(),
          deployment_age_seconds: seconds,
          ttl_seconds: seconds,
          expires_at: timestamp,
          expires_in_seconds: seconds,
        }),
      ),
      forecast_breaches: z.array(
        z.object({
          ...Subject,
          metric: z.string(),
          breach_at: timestamp,
          breach_in_seconds: z.number(),
          interval_seconds: z.tuple([z.number(), z.number().nullable()]),
          slope_per_day: z.number(),
          source: z.enum(["forecast", "finding"]),
          reason: z.string().nullable(),
        }),
      ),
      degraded: z.array(StateItem),
      drifted: z.array(StateItem),
      oldest: z.array(AgeItem),
      stalest_data: z.array(AgeItem),
    }),
  ),
});

export function reportRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/report",
    {
      schema: {
        summary: "The rot report: per team, what expired, is due, will breach, degraded or drifted",
        description:
          "Per owner_team: what expired (in the period and still), what is due within 14 days, forecast " +
          "breaches within 14 days, what is degraded or drifted now or was in the period, the oldest " +
          "models and the stalest training data. `since` is the period (a duration, default 7d).",
        tags: ["lifecycle"],
        querystring: ReportQuery,
        response: { 200: RotReport, ...problemResponses(400, 401) },
      },
    },
    async (request) => lifecycle.report(request.query),
  );
}
