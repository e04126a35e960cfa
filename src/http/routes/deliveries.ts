import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { DELIVERY_STATES } from "../../core/words.js";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { requireAdmin } from "../auth.js";
import { DeliveryList } from "../lifecycle-schemas.js";
import { decimalInt, problemResponses } from "../schemas.js";

const id = () => decimalInt(1, 2_147_483_647);

export function deliveryRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/deliveries",
    {
      schema: {
        summary: "Notifications in the outbox with their attempts; state=failed is the dead letter",
        tags: ["alerts"],
        querystring: z.strictObject({
          state: z.enum(DELIVERY_STATES).optional(),
          alert_id: id().optional(),
          limit: decimalInt(1, 500).default(50),
          cursor: id().optional(),
        }),
        response: { 200: DeliveryList, ...problemResponses(400, 401) },
      },
    },
    async (request) => lifecycle.deliveries(request.query),
  );

  r.post(
    "/v1/deliveries/retry",
    {
      schema: {
        summary: "Queue dead-lettered deliveries again with fresh attempts: all, or those named",
        tags: ["alerts"],
        body: z.strictObject({
          ids: z.array(z.number().int().min(1).max(2_147_483_647)).max(1000).optional(),
        }),
        response: { 200: z.object({ retried: z.number().int() }), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      requireAdmin(request);
      return lifecycle.retryDeliveries(request.body.ids);
    },
  );
}
