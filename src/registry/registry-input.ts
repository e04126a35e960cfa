import { z } from "zod";
import { AGE_STAGES } from "../core/age.js";
import { ROLES, STATUSES } from "../core/words.js";
import { decimalInt, freeText, modelVersion, slug } from "./deployment-input.js";

/**
 * The registry's requests other than a registration: the API validates them with these, and the
 * CLI its flags before it opens the database or calls a server, so both refuse the same input
 * the same way.
 */

/** Ids are PostgreSQL integers: anything larger cannot exist, so it is a 400 rather than a fault. */
export const IdParams = z.strictObject({ id: decimalInt(1, 2_147_483_647) });

export const ModelNameParams = z.strictObject({ name: slug() });

export const ListDeploymentsQuery = z.strictObject({
  model: slug().optional(),
  environment: slug().optional(),
  owner_team: slug().optional(),
  role: z.enum(ROLES).optional(),
  status: z.enum(STATUSES).optional(),
  stage: z.enum(AGE_STAGES).optional().describe("fresh, due or expired; implies status=active"),
  sort: z.enum(["-age", "age"]).default("-age").describe("-age: oldest first"),
  limit: decimalInt(1, 500).default(50),
  cursor: z.string().max(200).optional(),
});

/** GET /v1/policy/suggestions, `tenure policy suggest`. */
export const SuggestionsQuery = z.strictObject({
  model: slug().optional().describe("one model's suggestions; 404 when it does not exist"),
  environment: slug().optional(),
});

export const RetireBody = z.strictObject({ reason: freeText(2000).optional() });

export const GoldenBody = z.strictObject({
  model_version: modelVersion(),
  environment: slug().default("production"),
});

export const RollbackBody = z.strictObject({
  environment: slug().default("production"),
  to_version: modelVersion().optional().describe("defaults to the golden version"),
  reason: freeText(2000).optional(),
});

export const CanaryQuery = z.strictObject({
  environment: slug().default("production"),
  limit: decimalInt(1, 500).default(20).describe("analyses, newest first"),
});
