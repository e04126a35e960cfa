import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { PrometheusMetrics } from "../prometheus/prometheus-metrics.js";
import { problemResponses } from "../schemas.js";

/** `GET /metrics`: Prometheus's text exposition format, read like any other read (a read token, or --public-read). */
export function prometheusRoutes(app: FastifyInstance, metrics: PrometheusMetrics): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  r.get(
    "/metrics",
    {
      schema: {
        summary:
          "Prometheus metrics: every live deployment's clocks, health, performance and drift, alerts, sweeps, deliveries, gateway traffic",
        description: "Text exposition format 0.0.4. See docs/METRICS.md for every series.",
        tags: ["system"],
        response: {
          200: {
            description: "Prometheus text exposition format",
            content: { "text/plain": { schema: z.string() } },
          },
          ...problemResponses(401, 403),
        },
      },
    },
    async (_request, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).send(body);
    },
  );
}
