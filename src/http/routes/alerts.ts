import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { AlertsQuery } from "../../lifecycle/lifecycle-input.js";
import { AlertList } from "../lifecycle-schemas.js";
import { problemResponses } from "../schemas.js";

export function alertRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/alerts",
    {
      schema: {
        summary: "Alerts, newest first",
        tags: ["alerts"],
        querystring: AlertsQuery,
        response: { 200: AlertList, ...problemResponses(400, 401) },
      },
    },
    async (request) => lifecycle.alerts(request.query),
  );
}
