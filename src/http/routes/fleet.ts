import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { Fleet } from "../lifecycle-schemas.js";
import { problemResponses } from "../schemas.js";

export function fleetRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/fleet",
    {
      schema: {
        summary: "Live deployments by stage, team and environment, and open alerts by kind",
        tags: ["lifecycle"],
        response: { 200: Fleet, ...problemResponses(401) },
      },
    },
    async () => lifecycle.fleet(),
  );
}
