import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { IdParams } from "../../registry/registry-input.js";
import { Timeline } from "../lifecycle-schemas.js";
import { problemResponses } from "../schemas.js";

export function timelineRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/deployments/:id/timeline",
    {
      schema: {
        summary:
          "Deployment age, data age, metrics with target and baseline, drift and stage changes on one time axis",
        tags: ["monitoring"],
        params: IdParams,
        response: { 200: Timeline, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => lifecycle.timeline(request.params.id),
  );
}
