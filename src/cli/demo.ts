import { mkdirSync, rmSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Command } from "commander";
import { DEFAULT_DATABASE } from "../config.js";
import { InputError } from "../core/errors.js";
import { generateToken, hashToken } from "../http/token-auth.js";
import type { Io } from "./io.js";
import { positiveInt } from "./options.js";
import { serveUntilSignal } from "./serve.js";

export const DEMO_DATABASE = "./tenure-demo.db";

interface DemoFlags {
  database: string;
  port: number;
  host: string;
  seedOnly?: boolean;
}

export function demoCommand(program: Command, io: Io): void {
  program
    .command("demo")
    .summary("serve a demo fleet from its own database (never ./tenure.db)")
    .option("--database <path>", "the demo's SQLite file, made anew", DEMO_DATABASE)
    .option("--port <n>", "port", positiveInt("--port", 65_535), 8080)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--seed-only", "make the demo database and stop")
    .action(async (flags: DemoFlags) => {
      const path = resolve(flags.database);
      if (path === resolve(DEFAULT_DATABASE) || /^postgres(ql)?:/.test(flags.database)) {
        throw new InputError(
          "the demo makes its database anew: give it a SQLite file other than ./tenure.db",
          [{ field: "--database", message: "must be a SQLite file other than ./tenure.db" }],
        );
      }
      mkdirSync(dirname(path), { recursive: true });
      for (const suffix of ["", "-wal", "-shm"]) rmSync(`${path}${suffix}`, { force: true });
      const [{ openContext }, { Registry }, { seedDemoFleet }] = await Promise.all([
        import("../context.js"),
        import("../registry/registry.js"),
        import("./demo-fleet.js"),
      ]);
      const context = await openContext(path);
      let token: string;
      try {
        const now = Date.now();
        let clock = now;
        const registry = new Registry({ stores: context.stores, clock: () => clock });
        const count = await seedDemoFleet(
          registry,
          (ms) => {
            clock = ms;
          },
          now,
        );
        token = generateToken();
        await context.stores.tokens.insert({
          name: "demo",
          token_hash: hashToken(token),
          scope: "admin",
          owner_team: null,
          created_at: now,
        });
        // A first heartbeat, so the fleet shows its alerts and the sweep log from the start.
        const sweep = await context.lifecycle.sweep({ trigger: "manual", actor: "tenure:demo" });
        io.err(
          `demo fleet: ${count} deployments in ${path}; sweep ${sweep.id} found ${sweep.stages.due ?? 0} due and ${sweep.stages.expired ?? 0} expired\n`,
        );
      } finally {
        await context.close();
      }
      if (flags.seedOnly) return;
      io.err(
        `serving on http://${flags.host}:${flags.port} with public reads; to change things use\n` +
          `  TENURE_URL=http://${flags.host}:${flags.port} TENURE_TOKEN=${token} npx tenure ...\n`,
      );
      await serveUntilSignal({ databaseUrl: path, host: flags.host, port: flags.port, publicRead: true });
    });
}
