import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { freeText } from "../../registry/deployment-input.js";
import { actorOf } from "../auth.js";
import { Deployment, problemResponses } from "../schemas.js";
import { IdParams } from "./deployments.js";

/** Ten years: an extension beyond that is a typo, not a review. */
const MAX_EXTENSION_SECONDS = 10 * 365 * 86_400;

const ReviewBody = z.strictObject({
  note: freeText(2000).min(1, "must say what was checked").describe("what the reviewer checked"),
  extend_seconds: z
    .number()
    .int("must be a whole number of seconds")
    .min(0)
    .max(MAX_EXTENSION_SECONDS, "must be at most ten years")
    .optional()
    .describe("adds to this deployment's TTL"),
});

export function reviewRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/deployments/:id/review",
    {
      schema: {
        summary: "Review a deployment: acknowledge its age, optionally extend its TTL",
        tags: ["lifecycle"],
        params: IdParams,
        body: ReviewBody,
        response: { 200: Deployment, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => lifecycle.review(request.params.id, actorOf(request), request.body),
  );
}
