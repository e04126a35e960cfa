/**
 * The floor: the least an HTTP API on this stack can do for the routes a benchmark measures. One
 * bare Fastify 5 process (bench/lib/floor-app.ts) that parses and validates each body with the
 * very zod schema Tenure's route uses (from the built dist/) and answers as Tenure does, with no
 * auth, no database and no logging. What Tenure costs above this is what its registry, store and
 * database cost.
 *
 * - `--routes registry` (the registry benchmark): `POST /v1/deployments` echoes the registration;
 *   `GET /v1/deployments?…` answers with pages held in memory, which the bench stores once.
 * - `--routes samples` (the drift benchmark's ingest): `POST /v1/deployments/:id/samples` answers
 *   with the count it accepted and keeps nothing.
 * - `--routes load` (the load benchmark): the registry's writes (registration, metrics,
 *   heartbeat) validated with Tenure's schemas, and its reads (a list page, one deployment, the
 *   fleet) answered with a body the bench stored once per route from a real Tenure answer.
 *
 *   node --import tsx bench/floor-server.ts --port 8081 [--routes registry|samples]
 */
import { z } from "zod";
import { PORT_OPTION, parseScriptOptions } from "./lib/bench-options.js";
import { type FloorApp, serveFloor } from "./lib/floor-app.js";

const flags = parseScriptOptions("floor-server", {
  port: PORT_OPTION,
  routes: {
    schema: z.enum(["registry", "samples", "load"]).default("registry"),
    value: "registry|samples|load",
    help: "the routes to serve: registrations and list pages, or feature samples",
  },
});

// Each set imports only its own schemas, so that the floor's memory is that of its routes alone.
const routes =
  flags.routes === "samples"
    ? await samplesRoutes()
    : flags.routes === "load"
      ? await loadRoutes()
      : await registryRoutes();
await serveFloor({ port: flags.port, routes });

async function registryRoutes(): Promise<(app: FloorApp) => void> {
  const { RegisterDeploymentBody } = await import("../dist/registry/deployment-input.js");
  /** List pages by their path and query (`/v1/deployments?limit=100&...`), set by the bench. */
  const pages = new Map<string, unknown>();
  return (app) => {
    app.post("/v1/deployments", { schema: { body: RegisterDeploymentBody } }, async (request, reply) =>
      reply.code(201).send(request.body),
    );
    app.get("/v1/deployments", async (request, reply) => {
      const page = pages.get(request.url);
      if (page === undefined) return reply.code(404).send({ title: "no page stored for this query" });
      return page;
    });
    // Test scaffolding, not part of the measured floor: the bench stores a real Tenure page here once.
    app.put(
      "/floor/pages",
      {
        schema: { body: z.object({ url: z.string().startsWith("/v1/deployments?"), page: z.unknown() }) },
      },
      async (request, reply) => {
        pages.set(request.body.url, request.body.page);
        return reply.code(204).send();
      },
    );
  };
}

async function samplesRoutes(): Promise<(app: FloorApp) => void> {
  const { IdParams } = await import("../dist/registry/registry-input.js");
  const { SamplesBody } = await import("../dist/http/routes/samples.js");
  const DAY_MS = 86_400_000;
  return (app) => {
    app.post(
      "/v1/deployments/:id/samples",
      { bodyLimit: 16 * 1024 * 1024, schema: { params: IdParams, body: SamplesBody } },
      async (request) => ({
        deployment_id: request.params.id,
        accepted: request.body.rows.length,
        day: new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS).toISOString(),
      }),
    );
  };
}

async function loadRoutes(): Promise<(app: FloorApp) => void> {
  const { RegisterDeploymentBody } = await import("../dist/registry/deployment-input.js");
  const { IdParams } = await import("../dist/registry/registry-input.js");
  const MetricsBody = z.strictObject({
    points: z.array(z.strictObject({ name: z.string(), value: z.number() })).min(1),
  });
  /** The answer of each read route, by route, set by the bench. */
  const answers = new Map<string, unknown>();
  const stored = (route: string) => async (_request: unknown, reply: FastifyReplyLike) => {
    const answer = answers.get(route);
    return answer === undefined ? reply.code(404).send({ title: "no answer stored" }) : answer;
  };
  return (app) => {
    app.post("/v1/deployments", { schema: { body: RegisterDeploymentBody } }, async (request, reply) =>
      reply.code(201).send(request.body),
    );
    app.post(
      "/v1/deployments/:id/metrics",
      { schema: { params: IdParams, body: MetricsBody } },
      async (request) => ({ deployment_id: request.params.id, accepted: request.body.points.length }),
    );
    app.post(
      "/v1/deployments/:id/heartbeat",
      { schema: { params: IdParams, body: z.strictObject({}) } },
      async (request) => ({ deployment_id: request.params.id, last_heartbeat_at: new Date().toISOString() }),
    );
    app.get("/v1/deployments", stored("list"));
    app.get("/v1/deployments/:id", { schema: { params: IdParams } }, stored("one"));
    app.get("/v1/fleet", stored("fleet"));
    // Test scaffolding, not part of the measured floor: the bench stores a real Tenure answer once.
    app.put(
      "/floor/answers",
      { schema: { body: z.object({ route: z.enum(["list", "one", "fleet"]), answer: z.unknown() }) } },
      async (request, reply) => {
        answers.set(request.body.route, request.body.answer);
        return reply.code(204).send();
      },
    );
  };
}

interface FastifyReplyLike {
  code(status: number): { send(body: unknown): unknown };
}
