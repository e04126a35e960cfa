import { z } from "zod";
import { parseDuration } from "../core/duration.js";
import { ALERT_STATES, DELIVERY_STATES } from "../core/words.js";
import { decimalInt, freeText, slug } from "../registry/deployment-input.js";

/**
 * The lifecycle's requests: the API validates them with these, and the CLI its flags before it
 * opens the database or calls a server, so both refuse the same input the same way.
 */

const id = () => decimalInt(1, 2_147_483_647);

/** Ten years: an extension beyond that is a typo, not a review. */
const MAX_EXTENSION_SECONDS = 10 * 365 * 86_400;

export const ReviewBody = z.strictObject({
  note: freeText(2000).min(1, "must say what was checked").describe("what the reviewer checked"),
  extend_seconds: z
    .number()
    .int("must be a whole number of seconds")
    .min(0)
    .max(MAX_EXTENSION_SECONDS, "must be at most ten years")
    .optional()
    .describe("adds to this deployment's TTL"),
});

export const AlertsQuery = z.strictObject({
  state: z.enum(ALERT_STATES).optional(),
  deployment_id: id().optional(),
  owner_team: slug().optional(),
  limit: decimalInt(1, 500).default(50),
  cursor: id().optional(),
});

export const ResolveAlertBody = z.strictObject({
  note: freeText(2000).min(1, "must say what was done about it").describe("what was done about the alert"),
});

export const DeliveriesQuery = z.strictObject({
  state: z.enum(DELIVERY_STATES).optional(),
  alert_id: id().optional(),
  limit: decimalInt(1, 500).default(50),
  cursor: id().optional(),
});

export const RetryDeliveriesBody = z.strictObject({
  ids: z.array(z.number().int().min(1).max(2_147_483_647)).max(1000).optional(),
});

/** Which live deployments a lifecycle list, the calendar or the check covers. */
export const Scope = z.strictObject({
  owner_team: slug().optional(),
  environment: slug().optional(),
});

export const CheckQuery = Scope.extend({ fail_on: z.enum(["due", "expired", "stale"]).default("expired") });

/** Which live deployments the fleet rows cover: a team's, an environment's, a model's, or all. */
export const FleetRowsQuery = Scope.extend({ model: slug().optional() });

/** The rot report's scope and period: a team's or the whole fleet's, over the last `since` (7d). */
export const ReportQuery = z.strictObject({
  owner_team: slug().optional(),
  since: z
    .string()
    .refine((text) => parseDuration(text) !== undefined, {
      message: "must be a duration such as 7d, 36h, 2w (units s m h d w), of at most 1000 years",
    })
    .default("7d")
    .transform((text) => parseDuration(text) as number),
});
