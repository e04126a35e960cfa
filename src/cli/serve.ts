import type { Command } from "commander";
import { databaseUrlFrom } from "../context.js";
import { startServer } from "../http/server.js";
import type { Io } from "./io.js";
import { type DatabaseFlag, databaseOption, positiveInt } from "./options.js";

export interface ServeFlags extends DatabaseFlag {
  port: number;
  host: string;
  publicRead?: boolean;
}

export function serveCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("serve")
      .summary("serve the API on http://127.0.0.1:8080")
      .option("--port <n>", "port", positiveInt("--port", 65_535), portFromEnv(io))
      .option("--host <host>", "address to listen on", io.env.TENURE_HOST ?? "127.0.0.1")
      .option("--public-read", "let anyone read without a token (changes still need one)"),
  ).action(async (flags: ServeFlags) => {
    await serveUntilSignal({
      databaseUrl: databaseUrlFrom(flags.database, io.env),
      host: flags.host,
      port: flags.port,
      publicRead: flags.publicRead ?? false,
    });
  });
}

function portFromEnv(io: Io): number {
  const port = Number(io.env.TENURE_PORT ?? 8080);
  return Number.isInteger(port) && port > 0 && port < 65_536 ? port : 8080;
}

/** Serves until SIGTERM or SIGINT, then drains in-flight requests and closes the database. */
export async function serveUntilSignal(options: Parameters<typeof startServer>[0]): Promise<void> {
  const server = await startServer(options);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      server.close().then(resolve, (error: unknown) => {
        server.app.log.error({ err: error }, "shutdown failed");
        resolve();
      });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
