import type { FastifyInstance } from "fastify";
import { pino } from "pino";
import { type Context, openContext } from "../context.js";
import { VERSION } from "../version.js";
import { buildApp } from "./app.js";
import { TokenCache } from "./token-auth.js";

export interface ServeOptions {
  databaseUrl: string;
  host: string;
  port: number;
  publicRead: boolean;
  logLevel?: string;
}

export interface RunningServer {
  app: FastifyInstance;
  context: Context;
  /** The address it listens on, such as http://127.0.0.1:8080. */
  url: string;
  /** Stops taking connections, lets in-flight requests finish, then closes the database. */
  close(): Promise<void>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger = pino({
    level: options.logLevel ?? process.env.TENURE_LOG_LEVEL ?? "info",
    redact: ["req.headers.authorization", "headers.authorization"],
  });
  const context = await openContext(options.databaseUrl);
  const app = await buildApp({
    registry: context.registry,
    tokens: new TokenCache(context.tokens, context.clock),
    publicRead: options.publicRead,
    version: VERSION,
    logger,
  });
  let url: string;
  try {
    url = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await context.close();
    throw error;
  }
  logger.info(
    { url, database: context.database.location, dialect: context.database.dialect, version: VERSION },
    "tenure is serving",
  );
  let closing: Promise<void> | undefined;
  return {
    app,
    context,
    url,
    close() {
      closing ??= (async () => {
        await app.close();
        await context.close();
        logger.info("tenure stopped");
      })();
      return closing;
    },
  };
}
