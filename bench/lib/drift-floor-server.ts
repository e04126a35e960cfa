/**
 * The floor of the samples route: a bare Fastify 5 process that parses and validates a
 * `POST /v1/deployments/:id/samples` body with the route's own zod schema (imported from dist/) through
 * fastify-type-provider-zod, and answers as Tenure does, with no auth, no database and no summary.
 *
 *   node --import tsx bench/lib/drift-floor-server.ts --port 8082
 */
import { parseArgs } from "node:util";
import Fastify from "fastify";
import { validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";
import { IdParams } from "../../dist/http/routes/deployments.js";
import { SamplesBody } from "../../dist/http/routes/monitoring.js";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65_535) {
  process.stderr.write("drift-floor-server: --port must be a port number\n");
  process.exit(2);
}

const DAY_MS = 86_400_000;

const app = Fastify({ logger: false });
app.setValidatorCompiler(validatorCompiler);
const r = app.withTypeProvider<ZodTypeProvider>();

r.get("/healthz", async () => ({ status: "ok" }));

r.post(
  "/v1/deployments/:id/samples",
  { bodyLimit: 16 * 1024 * 1024, schema: { params: IdParams, body: SamplesBody } },
  async (request) => ({
    deployment_id: request.params.id,
    accepted: request.body.rows.length,
    day: new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS).toISOString(),
  }),
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
