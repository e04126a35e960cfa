import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { ReviewBody } from "../../lifecycle/lifecycle-input.js";
import { IdParams } from "../../registry/registry-input.js";
import { actorOf } from "../auth.js";
import { Deployment, problemResponses } from "../schemas.js";

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
