import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import { generateToken, hashToken } from "../registry/tokens.js";
import { configOf, type Io } from "./io.js";
import { positiveInt } from "./options.js";
import { progressBar, sweepProgress } from "./progress.js";
import { assertPortFree, processSettings, serveUntilSignal } from "./serve.js";

export const DEMO_DATABASE = "./tenure-demo.db";

/** The CLI's own script, so the printed commands run from any folder, not only this package's. */
const TENURE_BIN = fileURLToPath(new URL("../../bin/tenure.js", import.meta.url));

interface DemoFlags {
  database: string;
  port: number;
  host: string;
  seedOnly?: boolean;
  log?: string;
  fleetSize?: number;
}

export function demoCommand(program: Command, io: Io): void {
  program
    .command("demo")
    .summary("serve a demo fleet from its own database (never ./tenure.db)")
    .option("--database <path>", "the demo's SQLite file, made anew", DEMO_DATABASE)
    .option("--port <n>", "port", positiveInt("--port", 65_535), 8080)
    .option("--host <host>", "address to listen on", "127.0.0.1")
    .option("--seed-only", "make the demo database and stop")
    .option(
      "--fleet-size <n>",
      "fill the fleet with generated models up to this many live deployments (e.g. 10000)",
      positiveInt("--fleet-size", 100_000),
    )
    .option("--log <file>", "write the server's JSON log to this file (default: no log)")
    .action(async (flags: DemoFlags) => {
      const [config, { DEFAULT_DATABASE }, { isFileDatabase, removeDatabase }] = await Promise.all([
        configOf(io),
        import("../config.js"),
        import("../store/missing-database.js"),
      ]);
      const path = resolve(flags.database);
      if (path === resolve(DEFAULT_DATABASE) || !isFileDatabase(flags.database)) {
        throw new InputError(
          "the demo makes its database anew: give it a SQLite file other than ./tenure.db",
          [{ field: "--database", message: "must be a SQLite file other than ./tenure.db" }],
        );
      }
      // A busy port is found before the database is made anew and before anything is printed.
      if (!flags.seedOnly) await assertPortFree(flags.host, flags.port);
      mkdirSync(dirname(path), { recursive: true });
      removeDatabase(path);
      const [{ openContext }, { Registry }, { DEMO_POLICIES, seedDemoEvidence, seedDemoFleet }] =
        await Promise.all([
          import("../context.js"),
          import("../registry/registry.js"),
          import("./demo-fleet.js"),
        ]);
      const policies = `${path.replace(/\.db$/, "")}-policies.yaml`;
      writeFileSync(policies, DEMO_POLICIES);
      const context = await openContext(path, { policies });
      let token: string;
      let worst: number | undefined;
      const progress = await progressBar(io);
      try {
        const now = Date.now();
        let clock = now;
        const registry = new Registry({ stores: context.stores, clock: () => clock });
        let count = await seedDemoFleet(
          registry,
          (ms) => {
            clock = ms;
          },
          now,
          progress,
        );
        await seedDemoEvidence(context, now, progress);
        if (flags.fleetSize) {
          const { fillDemoFleet } = await import("./demo-fleet-filler.js");
          count += await fillDemoFleet(context, registry, flags.fleetSize, now, progress);
        }
        token = generateToken();
        await context.stores.tokens.insert({
          name: "demo",
          token_hash: hashToken(token),
          scope: "admin",
          owner_team: null,
          created_at: now,
        });
        // A first heartbeat, so the fleet shows its verdicts, alerts and the sweep log from the start.
        const sweep = await context.lifecycle.sweep({
          trigger: "manual",
          actor: "tenure:demo",
          // The bar needs the live fleet's size: counted only when there is a bar to draw.
          onProgress: progress.active
            ? sweepProgress(progress, (await context.lifecycle.fleet()).live)
            : undefined,
        });
        progress.stop();
        const found = (kind: string) => sweep.findings[kind] ?? 0;
        const { items } = await context.registry.list({ status: "active", sort: "-age", limit: 500 });
        worst = items.reduce((a, b) =>
          (b.age.health_score ?? 100) < (a.age.health_score ?? 100) ? b : a,
        ).id;
        io.out(
          `demo fleet: ${count} deployments in ${path}, policies in ${policies}\n` +
            `sweep ${sweep.id} found ${sweep.stages.due ?? 0} due, ${sweep.stages.expired ?? 0} expired, ` +
            `${found("degraded")} degraded, ${found("drifted")} drifted, ${found("data_stale")} with stale data, ${found("silent")} silent\n`,
        );
      } finally {
        progress.stop();
        await context.close();
      }
      if (flags.seedOnly) return;
      const host = flags.host.includes(":") ? `[${flags.host}]` : flags.host;
      const url = `http://${host}:${flags.port}`;
      const tenure = `TENURE_URL=${url} TENURE_TOKEN=${token} ${shellWord(process.execPath)} ${shellWord(TENURE_BIN)}`;
      io.out(
        `serving on ${url} with public reads (Ctrl-C stops it); from any folder, try\n` +
          `  ${tenure} ls\n` +
          `  ${tenure} show ${worst}\n`,
      );
      await serveUntilSignal({
        ...processSettings(config),
        databaseUrl: path,
        host: flags.host,
        port: flags.port,
        publicRead: true,
        policies,
        // The demo's channels are receivers on this machine: a demo reaches them, a server does not
        // unless allowed (docs/egress.md).
        egress: (await import("../egress-policy.js")).EgressPolicy.allowPrivate(),
        ...(flags.log ? { logFile: resolve(flags.log) } : { logLevel: "silent" }),
      });
    });
}

/** A word a POSIX shell reads back as it is. */
function shellWord(text: string): string {
  return /^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}
