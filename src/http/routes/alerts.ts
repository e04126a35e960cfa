import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { ALERT_STATES } from "../../core/words.js";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { slug } from "../../registry/deployment-input.js";
import { AlertList } from "../lifecycle-schemas.js";
import { decimalInt, problemResponses } from "../schemas.js";

const id = () => decimalInt(1, 2_147_483_647);

export function alertRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/alerts",
    {
      schema: {
        summary: "Alerts, newest first",
        tags: ["alerts"],
        querystring: z.strictObject({
          state: z.enum(ALERT_STATES).optional(),
          deployment_id: id().optional(),
          owner_team: slug().optional(),
          limit: decimalInt(1, 500).default(50),
          cursor: id().optional(),
        }),
        response: { 200: AlertList, ...problemResponses(400, 401) },
      },
    },
    async (request) => lifecycle.alerts(request.query),
  );
}
