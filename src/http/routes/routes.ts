import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { RouteFeed } from "../../gateway/route-feed.js";
import { toWire, WireRoutes } from "../../gateway/route-wire.js";
import { slug } from "../../registry/deployment-input.js";
import { problemResponses } from "../schemas.js";

/** The longest a long poll waits: below the idle timeouts of common proxies and load balancers. */
const MAX_WAIT_SECONDS = 30;

const RoutesQuery = z.strictObject({
  environment: slug().default("production").describe("the environment whose routes a gateway serves"),
  since: z
    .string()
    .max(64)
    .optional()
    .describe("the route_version the gateway holds: the answer waits for a different one"),
  wait: z.coerce
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_SECONDS)
    .default(0)
    .describe(
      `seconds to wait for a change from \`since\` (0–${MAX_WAIT_SECONDS}); the routes as they are after that`,
    ),
});

export function routeRoutes(app: FastifyInstance, feed: RouteFeed): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/routes",
    {
      schema: {
        summary: "The live routes of an environment, for gateways; a long poll with `since` and `wait`",
        tags: ["gateway"],
        querystring: RoutesQuery,
        response: { 200: WireRoutes, ...problemResponses(400, 401, 403) },
      },
    },
    async (request, reply) => {
      const { environment, since, wait } = request.query;
      // A gateway that hangs up stops the wait; so does the server closing (RouteFeed.close).
      const gone = new AbortController();
      const onClose = () => gone.abort();
      reply.raw.once("close", onClose);
      try {
        const snapshot = await feed.next(environment, since, wait * 1000, gone.signal);
        reply.header("cache-control", "no-store");
        return toWire(snapshot);
      } finally {
        reply.raw.off("close", onClose);
      }
    },
  );
}
