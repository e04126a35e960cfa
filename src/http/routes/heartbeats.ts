import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { IdParams } from "../../registry/registry-input.js";
import { actorOf } from "../auth.js";
import { problemResponses } from "../schemas.js";

export function heartbeatRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/deployments/:id/heartbeat",
    {
      schema: {
        summary: "Liveness from the serving endpoint",
        tags: ["lifecycle"],
        params: IdParams,
        body: z.strictObject({}),
        response: {
          200: z.object({ deployment_id: z.number().int(), last_heartbeat_at: z.string() }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) => lifecycle.heartbeat(request.params.id, actorOf(request)),
  );
}
