import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { ForbiddenError } from "../../core/errors.js";
import type { Lifecycle } from "../../lifecycle/lifecycle.js";
import { SweepBody } from "../../lifecycle/sweep-input.js";
import { instantToMs } from "../../registry/deployment-input.js";
import { actorOf } from "../auth.js";
import { Sweep, SweepList } from "../lifecycle-schemas.js";
import { decimalInt, problemResponses } from "../schemas.js";

export function sweepRoutes(app: FastifyInstance, lifecycle: Lifecycle): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/sweeps",
    {
      schema: {
        summary: "Run a sweep now",
        description:
          "Evaluates every live deployment, raises and resolves alerts, carries out due promotions (201). 409 while another sweep runs. " +
          "With `dry_run`, or an `at` after the server's time, a preview (200, `dry_run: true`): the same evaluation and counts, nothing written, nothing sent.",
        tags: ["lifecycle"],
        body: SweepBody,
        response: { 200: Sweep, 201: Sweep, ...problemResponses(400, 401, 403, 409) },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      if (actor.team !== null) {
        throw new ForbiddenError("a sweep covers every team: use a token that is not bound to one");
      }
      const at = request.body.at === undefined ? undefined : instantToMs(request.body.at);
      const sweep = await lifecycle.sweep({
        at,
        dry_run: request.body.dry_run,
        trigger: "manual",
        actor: actor.name,
        via: actor.via,
      });
      return reply.code(sweep.dry_run ? 200 : 201).send(sweep);
    },
  );

  r.get(
    "/v1/sweeps",
    {
      schema: {
        summary: "The sweep log (the heartbeat history), newest first",
        tags: ["lifecycle"],
        querystring: z.strictObject({
          limit: decimalInt(1, 500).default(50),
          cursor: decimalInt(1, 2_147_483_647).optional(),
        }),
        response: { 200: SweepList, ...problemResponses(400, 401) },
      },
    },
    async (request) => lifecycle.sweeps(request.query.limit, request.query.cursor),
  );
}
