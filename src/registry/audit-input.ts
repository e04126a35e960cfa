import { z } from "zod";
import { AUDIT_ORIGINS } from "../core/words.js";
import { decimalInt, freeText, instant } from "./deployment-input.js";

/**
 * The audit log's query: the API validates it with this, and `tenure audit` its flags before it
 * opens the database or calls a server, so both refuse the same input the same way.
 */
export const AuditListQuery = z.strictObject({
  actor: freeText(200).min(1).optional().describe("exactly this actor, such as token:ci or cli:alice"),
  action: z
    .string()
    .regex(/^[a-z][a-z_.]{0,63}$/, "must be an action such as deployment.retire")
    .optional()
    .describe("exactly this action, such as deployment.retire or token.create"),
  since: instant().optional().describe("only changes made at or after this instant"),
  limit: decimalInt(1, 500).default(100),
  cursor: decimalInt(1, 2_147_483_647).optional().describe("next_cursor of the page before"),
});
export type AuditListQuery = z.infer<typeof AuditListQuery>;

const Snapshot = z.unknown().describe("the changed record as it stood; null when there was none");

/** One change, as GET /v1/audit lists it. */
export const AuditEntry = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string().nullable().describe("deployment:42, model:fraud-gbm/production, token:7, policies"),
  origin: z
    .enum(AUDIT_ORIGINS)
    .describe(
      "http: through the API; local: the CLI on the database; signal: SIGHUP; system: Tenure on its own (sweeps, canary analysis, guardrails, syncs)",
    ),
  client_ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  method: z.string().nullable(),
  path: z.string().nullable(),
  status: z.number().int().nullable(),
  before: Snapshot,
  after: Snapshot,
});

export const AuditList = z.object({ items: z.array(AuditEntry), next_cursor: z.string().nullable() });
