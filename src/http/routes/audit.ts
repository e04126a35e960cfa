import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { AuditList, AuditListQuery } from "../../registry/audit-input.js";
import type { AuditTrail } from "../../registry/audit-trail.js";
import { instantToMs } from "../../registry/deployment-words.js";
import { requireAdmin } from "../auth.js";
import { problemResponses } from "../schemas.js";

/**
 * GET /v1/audit. Only an admin token bound to no team reads it: the log holds every team's
 * changes with their before and after, and who changed what is itself worth guarding. There is no
 * route that changes or removes an entry.
 */
export function auditRoutes(app: FastifyInstance, audit: AuditTrail): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    "/v1/audit",
    {
      schema: {
        summary: "Every change made: who, what, when, from where, before and after (admin), newest first",
        tags: ["audit"],
        querystring: AuditListQuery,
        response: { 200: AuditList, ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      requireAdmin(request);
      const { since, cursor, ...filters } = request.query;
      return audit.list({
        ...filters,
        ...(since === undefined ? {} : { since: instantToMs(since) }),
        ...(cursor === undefined ? {} : { before_id: cursor }),
      });
    },
  );
}
