import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { finite, instant, instantToMs, metricName } from "../../registry/deployment-input.js";
import { IdParams } from "../../registry/registry-input.js";
import { actorOf } from "../auth.js";
import { problemResponses } from "../schemas.js";

const MetricsBody = z.strictObject({
  points: z
    .array(
      z.strictObject({
        name: metricName(),
        value: finite(),
        timestamp: instant().optional().describe("when the value was measured; default: receipt time"),
        sample_size: z
          .number()
          .int()
          .min(1)
          .max(1_000_000_000)
          .optional()
          .describe("how many predictions it covers (default 1)"),
      }),
    )
    .min(1, "must hold at least one point")
    .max(10_000, "at most 10,000 points a request"),
});

export function metricRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/deployments/:id/metrics",
    {
      // 10,000 points run to about 1 MiB of JSON: room for them, still bounded.
      bodyLimit: 4 * 1024 * 1024,
      schema: {
        summary: "Performance points of a deployment, up to 10,000 a request",
        description:
          "Idempotent per deployment, name and timestamp: a retry changes nothing and a corrected value replaces the first. " +
          "Points carry their own timestamp (default: receipt time), so late labels land in their own window.",
        tags: ["monitoring"],
        params: IdParams,
        body: MetricsBody,
        response: {
          200: z.object({ deployment_id: z.number().int(), accepted: z.number().int() }),
          ...problemResponses(400, 401, 403, 404, 413),
        },
      },
    },
    async (request) =>
      lifecycle.recordMetrics(
        request.params.id,
        actorOf(request),
        request.body.points.map((p) => ({
          ...p,
          timestamp: p.timestamp === undefined ? undefined : instantToMs(p.timestamp),
        })),
      ),
  );
}
