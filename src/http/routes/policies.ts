import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { UnprocessableError } from "../../core/errors.js";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { IdParams, SuggestionsQuery } from "../../registry/registry-input.js";
import { requireAdmin } from "../auth.js";
import { Explain, TtlSuggestions } from "../lifecycle-schemas.js";
import { problemResponses } from "../schemas.js";

export function policyRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/deployments/:id/policy",
    {
      schema: {
        summary: "Which policy governs a deployment, why, and its review and expiry dates",
        tags: ["lifecycle"],
        params: IdParams,
        response: { 200: Explain, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => lifecycle.explain(request.params.id),
  );

  r.get(
    "/v1/policy/suggestions",
    {
      schema: {
        summary: "The TTL each model's own decay suggests, against the TTL in force, with its evidence",
        tags: ["lifecycle"],
        querystring: SuggestionsQuery,
        response: { 200: TtlSuggestions, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => lifecycle.suggestions(request.query),
  );

  r.post(
    "/v1/policies/reload",
    {
      schema: {
        summary: "Read the policy file again; an invalid file keeps the policies in force (422)",
        tags: ["lifecycle"],
        body: z.strictObject({}),
        response: {
          200: z.object({ ok: z.literal(true), policies: z.number().int(), channels: z.number().int() }),
          ...problemResponses(401, 403, 422),
        },
      },
    },
    async (request) => {
      const actor = requireAdmin(request);
      const { result, ttlChanges } = lifecycle.reloadPolicies(actor.name);
      // Answered once the TTL changes are recorded: an explanation read next shows them.
      await ttlChanges;
      if (!result.ok) {
        throw new UnprocessableError(
          "the policy file is not valid; the policies in force are kept",
          result.errors.map((e) => ({ field: `line ${e.line}, column ${e.column}`, message: e.message })),
        );
      }
      return result;
    },
  );
}
