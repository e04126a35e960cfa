import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import type { DriftMonitor } from "../../monitoring/drift-monitor.js";
import { instant, instantToMs } from "../../registry/deployment-input.js";
import { IdParams } from "../../registry/registry-input.js";
import { actorOf } from "../auth.js";
import { problemResponses } from "../schemas.js";

const featureName = z.string().min(1).max(128);

/** One row of features, as samples and references take it. */
export const Row = z
  .record(
    featureName,
    z.union([
      z.number().refine(Number.isFinite, "must be a finite number"),
      z.string().max(1024),
      z.boolean(),
      z.null(),
    ]),
  )
  .refine((row) => Object.keys(row).length <= 500, "at most 500 features a row");

/** Exported for the benchmark's floor, which validates the very same body. */
export const SamplesBody = z.strictObject({
  rows: z.array(Row).min(1, "must hold at least one row").max(10_000, "at most 10,000 rows a request"),
  timestamp: instant().optional().describe("when the rows were served; default: receipt time"),
});

export function sampleRoutes(app: FastifyInstance, drift: DriftMonitor): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/deployments/:id/samples",
    {
      bodyLimit: 16 * 1024 * 1024,
      schema: {
        summary: "Live feature samples of a deployment, up to 10,000 rows a request",
        description:
          "Kept per feature and UTC day as a bounded summary (a reservoir of numbers, category counts): never every row.",
        tags: ["monitoring"],
        params: IdParams,
        body: SamplesBody,
        response: {
          200: z.object({ deployment_id: z.number().int(), accepted: z.number().int(), day: z.string() }),
          ...problemResponses(400, 401, 403, 404, 409, 413, 422),
        },
      },
    },
    async (request) =>
      drift.addSamples(
        request.params.id,
        actorOf(request),
        request.body.rows,
        request.body.timestamp === undefined ? undefined : instantToMs(request.body.timestamp),
      ),
  );
}
