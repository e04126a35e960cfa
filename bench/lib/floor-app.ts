/**
 * What the benchmarks' peer servers are built on (bench/floor-server.ts and
 * bench/lib/bare-postgres-server.ts): one bare Fastify 5 process on 127.0.0.1 that validates with
 * zod through fastify-type-provider-zod as src/http/app.ts wires it, with Tenure's body limit,
 * a /healthz for the bench to poll, no logging, and a clean exit on SIGTERM or SIGINT.
 */
import Fastify from "fastify";
import { validatorCompiler, type ZodTypeProvider } from "fastify-type-provider-zod";

/** The same body limit as Tenure's API (src/http/app.ts). */
const BODY_LIMIT = 1024 * 1024;

function floorApp() {
  const app = Fastify({ bodyLimit: BODY_LIMIT, logger: false });
  app.setValidatorCompiler(validatorCompiler);
  return app.withTypeProvider<ZodTypeProvider>();
}

export type FloorApp = ReturnType<typeof floorApp>;

export interface FloorOptions {
  port: number;
  /** Adds the peer's routes. */
  routes: (app: FloorApp) => void;
  /** Runs once the server has closed, before the process exits: connections to end. */
  onClose?: () => Promise<unknown>;
}

/** Serves the peer's routes until SIGTERM or SIGINT, then closes and exits (1 if closing failed). */
export async function serveFloor(options: FloorOptions): Promise<void> {
  const app = floorApp();
  app.get("/healthz", async () => ({ status: "ok" }));
  options.routes(app);
  const close = () => {
    app
      .close()
      .then(() => options.onClose?.())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on("SIGTERM", close);
  process.on("SIGINT", close);
  await app.listen({ host: "127.0.0.1", port: options.port });
}
