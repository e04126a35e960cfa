import type { FastifyInstance } from "fastify";
import type { ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { InputError } from "../../core/errors.js";
import { RegisterDeploymentBody } from "../../registry/deployment-input.js";
import type { Registry } from "../../registry/registry.js";
import { IdParams, ListDeploymentsQuery, RetireBody } from "../../registry/registry-input.js";
import { actorOf } from "../auth.js";
import { Deployment, DeploymentList, EventList, problemResponses } from "../schemas.js";

/** Idempotency-Key values are opaque to us but must be sane to store (draft-ietf-httpapi-idempotency-key-header). */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export function deploymentRoutes(app: FastifyInstance, registry: Registry): void {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.post(
    "/v1/deployments",
    {
      schema: {
        summary: "Register a deployment",
        description:
          "A new primary supersedes the live primary of its model and environment in the same transaction. " +
          "Send Idempotency-Key to make a retry return the first answer.",
        tags: ["deployments"],
        body: RegisterDeploymentBody,
        headers: z.object({ "idempotency-key": z.string().optional() }),
        response: { 201: Deployment, ...problemResponses(400, 401, 403, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const key = request.headers["idempotency-key"];
      if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
        throw new InputError("Idempotency-Key is not valid", [
          { field: "Idempotency-Key", message: "must be 1 to 255 visible ASCII characters" },
        ]);
      }
      const { deployment, replayed } = await registry.register(request.body, actorOf(request), key);
      if (replayed) reply.header("idempotent-replayed", "true");
      reply.header("location", `/v1/deployments/${deployment.id}`);
      return reply.code(201).send(deployment);
    },
  );

  r.get(
    "/v1/deployments",
    {
      schema: {
        summary: "List deployments, oldest first by default",
        tags: ["deployments"],
        querystring: ListDeploymentsQuery,
        response: { 200: DeploymentList, ...problemResponses(400, 401) },
      },
    },
    async (request) => registry.list(request.query),
  );

  r.get(
    "/v1/deployments/:id",
    {
      schema: {
        summary: "One deployment with its age block",
        tags: ["deployments"],
        params: IdParams,
        response: { 200: Deployment, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => registry.get(request.params.id),
  );

  r.get(
    "/v1/deployments/:id/events",
    {
      schema: {
        summary: "A deployment's events, oldest first",
        tags: ["deployments"],
        params: IdParams,
        response: { 200: EventList, ...problemResponses(400, 401, 404) },
      },
    },
    async (request) => ({ items: await registry.events(request.params.id) }),
  );

  r.post(
    "/v1/deployments/:id/retire",
    {
      schema: {
        summary: "End a live deployment",
        tags: ["deployments"],
        params: IdParams,
        body: RetireBody,
        response: { 200: Deployment, ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request) => registry.retire(request.params.id, actorOf(request), request.body.reason),
  );
}
