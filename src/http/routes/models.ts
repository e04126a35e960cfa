import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import type { Registry } from "../../registry/registry.js";
import { GoldenBody, ModelNameParams, RollbackBody } from "../../registry/registry-input.js";
import { actorOf } from "../auth.js";
import { EventList, Model, ModelList, problemResponses, Rollback } from "../schemas.js";

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
        params: ModelNameParams,
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
        params: ModelNameParams,
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
        params: ModelNameParams,
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
        params: ModelNameParams,
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
