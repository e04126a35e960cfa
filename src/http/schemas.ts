import { z } from "zod";
import { AGE_STAGES } from "../core/age.js";
import { ROLES, STATUSES } from "../core/words.js";

/**
 * Response shapes, for the OpenAPI document. Responses are serialized with JSON.stringify, not
 * re-validated: the registry builds them from typed records, and re-checking every list item
 * would cost the hot read path for nothing.
 */
const timestamp = z.string().describe("ISO 8601 UTC with milliseconds");

export const AgeBlock = z.object({
  deployment_age_seconds: z.number().int(),
  data_age_seconds: z.number().int(),
  performance_age_seconds: z.number().int().nullable(),
  ttl_seconds: z.number().int(),
  ttl_fraction: z.number(),
  stage: z.enum(AGE_STAGES).nullable().describe("null once the deployment has ended"),
  health_score: z
    .number()
    .nullable()
    .describe("0–100 for a live deployment: the three clocks, performance and drift in one number"),
  verdict: z.enum(["keep", "review", "retrain", "retire"]).nullable(),
  policy: z.string().describe("the name of the policy that governs it"),
  exempt: z.boolean().describe("true when its policy exempts it from age findings (see the policy's reason)"),
  forecast: z
    .object({
      metric: z.string(),
      breach_at: timestamp.describe("when its model's decay curve crosses its performance threshold"),
      breach_in_seconds: z.number().int().describe("from now; 0 once the crossing is past by the curve"),
      interval_seconds: z
        .tuple([z.number().int(), z.number().int().nullable()])
        .describe("the crossing at the slope interval's steep end and gentle end (null: never)"),
      slope_per_day: z.number().describe("the model's metric change per day of deployment age"),
      based_on_deployments: z.number().int(),
      based_on_windows: z.number().int(),
    })
    .nullable()
    .describe("when it will cross its performance threshold, as the last sweep forecast it"),
  forecast_reason: z
    .string()
    .nullable()
    .describe(
      "why forecast is null: too little history, no target, not decaying, already past the threshold, …",
    ),
});

export const Deployment = z.object({
  id: z.number().int(),
  model: z.string(),
  model_version: z.string(),
  environment: z.string(),
  owner_team: z.string(),
  role: z.enum(ROLES),
  status: z.enum(STATUSES),
  deployment_date: timestamp,
  training_data_cutoff: timestamp,
  ended_at: timestamp.nullable(),
  endpoint: z.string().nullable(),
  tags: z.record(z.string(), z.string()),
  created_at: timestamp,
  created_by: z.string(),
  last_heartbeat_at: timestamp.nullable().describe("the last liveness heartbeat from its endpoint"),
  last_traffic_at: timestamp
    .nullable()
    .describe("the end of the last gateway report in which it answered a request without error"),
  reported_version: z
    .string()
    .nullable()
    .describe("the version its upstream last stated, while that differs from model_version"),
  age: AgeBlock,
});

export const DeploymentList = z.object({
  items: z.array(Deployment),
  next_cursor: z.string().nullable(),
});

export const Event = z.object({
  id: z.number().int(),
  deployment_id: z.number().int().nullable(),
  model: z.string(),
  environment: z.string(),
  type: z.string().describe("deployed, superseded, retired, rolled_back, golden_set, …"),
  actor: z.string(),
  at: timestamp,
  data: z.record(z.string(), z.unknown()),
});

export const EventList = z.object({ items: z.array(Event) });

export const Model = z.object({
  name: z.string(),
  owner_team: z.string(),
  created_at: timestamp,
  versions: z.array(
    z.object({ model_version: z.string(), training_data_cutoff: timestamp, created_at: timestamp }),
  ),
  environments: z.array(
    z.object({ environment: z.string(), golden_version: z.string().nullable(), live: z.array(Deployment) }),
  ),
});

export const ModelList = z.object({ items: z.array(Model) });

export const Rollback = z.object({ deployment: Deployment, rolled_back: Deployment.nullable() });

/** RFC 9457 problem details, with the fields Tenure adds. */
export const Problem = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  detail: z.string(),
  instance: z.string().optional(),
  errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
});

/** The problem responses a route can give, by status, under their real media type. */
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: "RFC 9457 problem details",
        content: { "application/problem+json": { schema: Problem } },
      },
    ]),
  );

export { decimalInt } from "../registry/deployment-input.js";
