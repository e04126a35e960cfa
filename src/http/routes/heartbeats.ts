import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { modelVersion } from "../../registry/deployment-input.js";
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
        body: z.strictObject({
          served_version: modelVersion()
            .optional()
            .describe(
              "the version the endpoint serves; one that differs from the registry's is a version mismatch",
            ),
        }),
        response: {
          200: z.object({
            deployment_id: z.number().int(),
            last_heartbeat_at: z.string(),
            version_mismatch: z.boolean().describe("the served version differs from the registered one"),
          }),
          ...problemResponses(400, 401, 403, 404, 409),
        },
      },
    },
    async (request) =>
      lifecycle.heartbeat(request.params.id, actorOf(request), undefined, request.body.served_version),
  );
}
