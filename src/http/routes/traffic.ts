import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { TrafficReport } from "../../gateway/traffic-report.js";
import { GhostsQuery } from "../../monitoring/traffic-input.js";
import type { TrafficMonitor } from "../../monitoring/traffic-monitor.js";
import { actorOf } from "../auth.js";
import { problemResponses } from "../schemas.js";

const count = () => z.number().int();

const TrafficReceipt = z.object({
  deployments: count().describe("deployments whose traffic was counted"),
  skipped_unknown: count().describe("deployment ids the registry does not know"),
  skipped_ended: count().describe("deployments no longer live"),
  skipped_forbidden: count().describe("deployments of another team than the token's"),
  ghosts: count().describe("ghosts (requests for unknown models) counted"),
  pairs: count().describe("shadow pairs handed to the shadow's pairing"),
  predictions: count().describe("canary predictions stored, for the canaries' labels"),
});

const Ghost = z.object({
  model: z.string(),
  environment: z.string(),
  requests: z.number().int(),
  first_seen: z.string(),
  last_seen: z.string(),
  last_gateway: z.string(),
});

export function trafficRoutes(app: FastifyInstance, traffic: TrafficMonitor): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/traffic",
    {
      // A report carries at most a few thousand shadow pairs (the gateway sends the rest with
      // the next): room for them, still bounded.
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        summary: "A gateway's traffic report: counts per deployment, ghosts and shadow pairs",
        description:
          "Sent by `tenure gateway` every few seconds. Counts add up per deployment and minute across gateways. " +
          "A deployment that answered a request without error is alive (its `silent` finding clears at the next sweep); " +
          "`mismatched_version` marks a `version_mismatch`. Unknown, ended or other teams' deployments are skipped and counted.",
        tags: ["monitoring"],
        body: TrafficReport,
        response: { 200: TrafficReceipt, ...problemResponses(400, 401, 403, 413) },
      },
    },
    async (request) => traffic.record(request.body, actorOf(request)),
  );

  r.get(
    "/v1/ghosts",
    {
      schema: {
        summary: "Traffic for models the registry does not know, most requested first",
        description:
          "A model that gets a deployment in an environment stops being a ghost there. Paged: pass `next_cursor` as `cursor`.",
        tags: ["monitoring"],
        querystring: GhostsQuery,
        response: {
          200: z.object({ items: z.array(Ghost), next_cursor: z.string().nullable() }),
          ...problemResponses(400, 401),
        },
      },
    },
    async (request) => traffic.ghosts(request.query),
  );
}
