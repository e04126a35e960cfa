import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { freeText, modelVersion, slug } from "../../registry/deployment-input.js";
import type { Registry } from "../../registry/registry.js";
import { actorOf } from "../auth.js";
import { EventList, Model, ModelList, problemResponses, Rollback } from "../schemas.js";

const NameParams = z.strictObject({ name: slug() });

const GoldenBody = z.strictObject({
  model_version: modelVersion(),
  environment: slug().default("production"),
});

const RollbackBody = z.strictObject({
  environment: slug().default("production"),
  to_version: modelVersion().optional().describe("defaults to the golden version"),
  reason: freeText(2000).optional(),
});

export function modelRoutes(app: FastifyInstance, registry: Registry): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    "/v1/models",
    {
      schema: {
        summary: "Models with their versions, live deployments and golden versions",
        tags: ["models"],
        response: { 200: ModelList, ...problemResponses(401) },
      },
    },
    async () => ({ items: await registry.listModels() }),
  );

  r.get(
    "/v1/models/:name",
    {
      schema: {
        summary: "One model",
        tags: ["models"],
        params: NameParams,
        response: { 200: Model, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => registry.getModel(request.params.name),
  );

  r.get(
    "/v1/models/:name/events",
    {
      schema: {
        summary: "A model's events, oldest first: its deployments' and its own (golden_set)",
        tags: ["models"],
        params: NameParams,
        response: { 200: EventList, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => ({ items: await registry.modelEvents(request.params.name) }),
  );

  r.put(
    "/v1/models/:name/golden",
    {
      schema: {
        summary: "Set the golden version of a model in an environment",
        tags: ["models"],
        params: NameParams,
        body: GoldenBody,
        response: { 200: Model, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) =>
      registry.setGolden(
        request.params.name,
        request.body.environment,
        request.body.model_version,
        actorOf(request),
      ),
  );

  r.post(
    "/v1/models/:name/rollback",
    {
      schema: {
        summary: "Roll an environment back to the golden (or a named) version",
        tags: ["models"],
        params: NameParams,
        body: RollbackBody,
        response: { 200: Rollback, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) =>
      registry.rollback(request.params.name, request.body.environment, actorOf(request), {
        to_version: request.body.to_version,
        reason: request.body.reason,
      }),
  );
}
