import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { FleetRowsQuery } from "../../lifecycle/lifecycle-input.js";
import { Fleet, FleetRows } from "../lifecycle-schemas.js";
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

  r.get(
    "/v1/fleet/deployments",
    {
      schema: {
        summary:
          "Every live deployment with its clocks, health, performance, drift, liveness and open alerts",
        description:
          "One response, not paged (the dashboard's fleet table holds every row), oldest first. " +
          "Filters narrow it to a team, an environment or a model.",
        tags: ["lifecycle"],
        querystring: FleetRowsQuery,
        response: { 200: FleetRows, ...problemResponses(400, 401) },
      },
    },
    async (request) => lifecycle.fleetRows(request.query),
  );
}
