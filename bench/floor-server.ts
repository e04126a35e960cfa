/**
 * The floor: the least a registry HTTP API on this stack can do. One bare Fastify 5 process that
 * parses and validates a registration with the very zod schema Tenure uses (from the built
 * dist/, through fastify-type-provider-zod as src/http/app.ts wires it) and echoes it back; and
 * that answers list requests with pages held in memory. No auth, no database, no logging. What
 * Tenure costs above this is what its registry, store and database cost.
 *
 *   node --import tsx bench/floor-server.ts --port 8081
 */
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { z } from "zod";
import { RegisterDeploymentBody } from "../dist/registry/deployment-input.js";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65_535) {
  process.stderr.write("floor-server: --port must be a port number\n");
  process.exit(2);
}

/** The same body limit as Tenure's API (src/http/app.ts). */
const BODY_LIMIT = 1024 * 1024;

/** List pages by their path and query (`/v1/deployments?limit=100&...`), set by the bench. */
const pages = new Map<string, unknown>();

const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false });
app.setValidatorCompiler(validatorCompiler);
const r = app.withTypeProvider<ZodTypeProvider>();

r.get("/healthz", async () => ({ status: "ok" }));

r.post("/v1/deployments", { schema: { body: RegisterDeploymentBody } }, async (request, reply) =>
  reply.code(201).send(request.body),
);

r.get("/v1/deployments", async (request, reply) => {
  const page = pages.get(request.url);
  if (page === undefined) return reply.code(404).send({ title: "no page stored for this query" });
  return page;
});

// Test scaffolding, not part of the measured floor: the bench stores a real Tenure page here once.
r.put(
  "/floor/pages",
  { schema: { body: z.object({ url: z.string().startsWith("/v1/deployments?"), page: z.unknown() }) } },
  async (request, reply) => {
    pages.set(request.body.url, request.body.page);
    return reply.code(204).send();
  },
);

const close = () => {
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on("SIGTERM", close);
process.on("SIGINT", close);

await app.listen({ host: "127.0.0.1", port });
