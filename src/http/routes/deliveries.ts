import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { DeliveriesQuery, RetryDeliveriesBody } from "../../lifecycle/lifecycle-input.js";
import { requireAdmin } from "../auth.js";
import { DeliveryList } from "../lifecycle-schemas.js";
import { problemResponses } from "../schemas.js";

export function deliveryRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/deliveries",
    {
      schema: {
        summary: "Notifications in the outbox with their attempts; state=failed is the dead letter",
        tags: ["alerts"],
        querystring: DeliveriesQuery,
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
        body: RetryDeliveriesBody,
        response: { 200: z.object({ retried: z.number().int() }), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) => {
      return lifecycle.retryDeliveries(requireAdmin(request), request.body.ids);
    },
  );
}
