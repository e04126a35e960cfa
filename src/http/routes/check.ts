import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { CheckQuery } from "../../lifecycle/lifecycle-input.js";
import { Deployment, problemResponses } from "../schemas.js";

export function checkRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/check",
    {
      schema: {
        summary: "The CI gate: live deployments in scope at or past a stage",
        tags: ["lifecycle"],
        querystring: CheckQuery,
        response: {
          200: z.object({
            ok: z.boolean(),
            fail_on: z.string(),
            checked: z.number().int(),
            offenders: z.array(Deployment.extend({ reasons: z.array(z.string()) })),
          }),
          ...problemResponses(400, 401),
        },
      },
    },
    async (request) => lifecycle.check(request.query),
  );
}
