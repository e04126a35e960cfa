/**
 * The registry benchmark: Tenure's HTTP API on SQLite and on PostgreSQL against a floor server
 * (bench/floor-server.ts) measured in the same run, with the same connection counts.
 *
 *   (a) registration throughput: COUNT POST /v1/deployments, in rounds alternating floor and Tenure
 *       (on PostgreSQL also the bare write server, bench/lib/bare-postgres-server.ts, between them);
 *   (b) list latency with the fleet registered: a filtered first page and a team's second page;
 *   (c) the Tenure server's peak RSS over the whole run.
 *
 *   npm run bench -- registry [--dialect sqlite|postgres|both] [--count N] [--profile] ...
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { BARE_VARIANTS } from "./lib/bare-variants.js";
import type { BareWriteFigures } from "./lib/bare-writes.js";
import { integer, type Options, switchOption } from "./lib/bench-options.js";
import {
  benchDialects,
  DIALECT_OPTION,
  defineBench,
  POSTGRES_URL_OPTION,
  RESULTS_DIR,
  ROOT,
  runFacts,
} from "./lib/bench-run.js";
import { type Census, type ListShape, takeCensus } from "./lib/census.js";
import { type ChildServer, startChildServer } from "./lib/child-server.js";
import {
  cpuProfileArgs,
  formatProfileSummary,
  saveCpuProfile,
  summarizeCpuProfile,
  type TimeWindow,
} from "./lib/cpu-profile.js";
import { log } from "./lib/log.js";
import { processMemory, QuietGate } from "./lib/proc-stats.js";
import { benchReads, benchRegistration } from "./lib/registry-phases.js";
import {
  type BareWriteCeiling,
  formatSummary,
  type MemoryFigures,
  type RegistrationFigures,
  type RegistryBenchResult,
  TARGETS,
} from "./lib/registry-report.js";
import { createScratchDatabase, type Dialect, type ScratchDatabase } from "./lib/scratch-database.js";
import { round } from "./lib/stats.js";
import type { Teardown } from "./lib/teardown.js";

const OPTIONS = {
  dialect: DIALECT_OPTION,
  count: { schema: integer(1_000, 1_000_000).default(100_000), value: "N", help: "registrations" },
  connections: {
    schema: integer(1, 1_024).default(32),
    value: "N",
    help: "for registrations, Tenure and floor alike",
  },
  "read-connections": { schema: integer(1, 1_024).default(16), value: "N", help: "for list reads" },
  rounds: {
    schema: integer(1, 50).default(5),
    value: "N",
    help: "registration rounds, alternating floor and Tenure",
  },
  "read-rounds": { schema: integer(1, 50).default(3), value: "N", help: "list rounds" },
  "read-seconds": { schema: integer(1, 120).default(4), value: "S", help: "length of a list round" },
  "log-level": {
    schema: z.enum(["fatal", "error", "warn", "info", "debug"]).default("info"),
    value: "LEVEL",
    help: "Tenure's TENURE_LOG_LEVEL, by default the same as Tenure's",
  },
  profile: switchOption("run Tenure under node --cpu-prof and print its top frames"),
  "bare-variant": {
    schema: z.enum(BARE_VARIANTS).default("schema"),
    value: "V",
    help:
      "PostgreSQL's bare write server: schema (as Tenure's), or with something taken away: " +
      "no-foreign-keys, no-list-indexes, async-commit",
  },
  "skip-reads": switchOption("registrations and memory only"),
  "quiet-wait": {
    schema: integer(0, 120).default(15),
    value: "S",
    help: "before each round, wait up to S s for other load to pass (at most 60 s per dialect in all; 0: never)",
  },
  "postgres-url": POSTGRES_URL_OPTION,
};
type Flags = Options<typeof OPTIONS>;

export const registryBench = defineBench("registry", OPTIONS, async (flags) => {
  const results = await benchDialects("registry", flags.dialect, (dialect, teardown) =>
    benchDialect(dialect, flags, teardown),
  );
  log(`\n== registry benchmark: summary (medians over rounds; ratio = tenure / floor) ==\n`);
  log(formatSummary(results));
  for (const result of results) {
    if (result.profile) printProfile(result);
  }
});

async function benchDialect(
  dialect: Dialect,
  flags: Flags,
  teardown: Teardown,
): Promise<RegistryBenchResult> {
  const started = Date.now();
  const database = teardown.database(await createScratchDatabase(dialect, flags["postgres-url"]));
  const token = await createToken(database.url);
  const tenure = teardown.server(await startTenure(database, flags));
  const rssAtStart = processMemory(tenure.pid).rss_mb;
  const floor = teardown.server(
    await startChildServer({
      name: "floor",
      cwd: ROOT,
      args: ["--import", "tsx", "bench/floor-server.ts", "--port", "{port}"],
    }),
  );
  log(`tenure pid ${tenure.pid} at ${tenure.url}; floor pid ${floor.pid} at ${floor.url}`);
  const bare = dialect === "postgres" ? await startBare(teardown, flags) : undefined;

  const auth = { authorization: `Bearer ${token}` };
  const gate = quietGate(flags);
  const phases: Record<string, TimeWindow> = {};
  const registration = await benchRegistration({ dialect, tenure, floor, bare, auth, flags, gate, phases });
  // Its database and connections are not to weigh on the list phase.
  await bare?.stop();
  const rssAfterRegistration = processMemory(tenure.pid).rss_mb;
  const bareWrites = dialect === "sqlite" ? await bareWriteCeiling(flags.count, registration) : undefined;
  const shapes: ListShape[] = [];
  const reads = flags["skip-reads"]
    ? []
    : await benchReads({ dialect, tenure, floor, auth, flags, gate, phases }, shapes);
  const memory = memoryFigures(tenure, floor, rssAtStart, rssAfterRegistration);
  log(
    `tenure peak RSS ${round(memory.tenure_peak_rss_mb, 1)} MB (VmHWM of pid ${tenure.pid}); ` +
      `RSS ${round(rssAtStart, 1)} MB when ready, ${round(rssAfterRegistration, 1)} MB after registration`,
  );
  const census: Census = await takeCensus(database.url, shapes);
  log(`census: ${JSON.stringify({ ...census, plans: undefined })}`);
  for (const [name, plan] of Object.entries(census.plans)) log(`plan ${name}:\n  ${plan.join("\n  ")}`);

  await Promise.all([tenure.stop(), floor.stop()]);
  const profile = flags.profile ? profileOf(database, phases) : undefined;
  return {
    bench: "registry",
    dialect,
    ...runFacts(started, flags),
    peers: {
      tenure: `node bin/tenure.js serve --database <${dialect}> (TENURE_LOG_LEVEL=${flags["log-level"]})`,
      floor:
        "bench/floor-server.ts: bare Fastify 5, same zod RegisterDeploymentBody via fastify-type-provider-zod, " +
        "echoes the body; list pages served from memory",
      load: "autocannon 9 in the bench process, same connections for both",
      ...(bare
        ? {
            bare:
              "bench/lib/bare-postgres-server.ts: the floor's route storing the same rows by prepared, " +
              "pipelined statements, 64 a transaction, two transactions in flight, in its own database " +
              `(variant: ${flags["bare-variant"]})`,
          }
        : {}),
    },
    quiet_wait_s: gate.waited_s,
    registration,
    ...(bareWrites ? { bare_writes: bareWrites } : {}),
    reads,
    memory,
    census,
    ...(profile ? { profile } : {}),
  };
}

/**
 * Runs the bare SQL write path (bench/lib/bare-writes.ts) in a process of its own, while both
 * servers are idle, and relates it to the floor's CPU per request.
 */
async function bareWriteCeiling(count: number, registration: RegistrationFigures): Promise<BareWriteCeiling> {
  log("bare SQL write path: the same registrations by prepared statements, no HTTP (SQLite)");
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--import", "tsx", "bench/lib/bare-writes.ts", "--count", String(count), "--batch", "32"],
    { cwd: ROOT, maxBuffer: 1 << 20 },
  );
  const bare = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as BareWriteFigures;
  const floor = registration.floor;
  const floorUs = ((floor.median_server_cpu_pct / 100) * 1e6) / floor.median_req_per_s;
  const ceiling = 1e6 / (bare.cpu_us_per_registration + floorUs) / floor.median_req_per_s;
  log(
    `  ${Math.round(bare.per_s).toLocaleString("en-US")} registrations/s, ${round(bare.cpu_us_per_registration, 0)} µs ` +
      `CPU each; the floor's HTTP ${round(floorUs, 0)} µs: one thread doing both reaches ${round(ceiling, 3)}x the floor`,
  );
  return { ...bare, floor_cpu_us_per_request: floorUs, ceiling_ratio: ceiling };
}

/** PostgreSQL: the bare write server, on a scratch database of its own (it migrates it). */
async function startBare(teardown: Teardown, flags: Flags): Promise<ChildServer> {
  const database = teardown.database(await createScratchDatabase("postgres", flags["postgres-url"]));
  const bare = teardown.server(
    await startChildServer({
      name: "bare",
      cwd: ROOT,
      args: [
        "--import",
        "tsx",
        "bench/lib/bare-postgres-server.ts",
        "--port",
        "{port}",
        "--database",
        database.url,
        "--variant",
        flags["bare-variant"],
      ],
    }),
  );
  log(`bare write server pid ${bare.pid} at ${bare.url} (variant: ${flags["bare-variant"]})`);
  return bare;
}

async function createToken(databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["bin/tenure.js", "token", "create", "--scope", "write", "--name", "bench", "--database", databaseUrl],
    { cwd: ROOT },
  );
  const token = stdout.trim();
  if (!/^tnr_[A-Za-z0-9_-]+$/.test(token)) throw new Error(`tenure token create printed ${stdout}`);
  return token;
}

async function startTenure(database: ScratchDatabase, flags: Flags): Promise<ChildServer> {
  const profileArgs = flags.profile ? cpuProfileArgs(join(database.dir, "profile")) : [];
  return startChildServer({
    name: "tenure",
    cwd: ROOT,
    args: [...profileArgs, "bin/tenure.js", "serve", "--database", database.url, "--port", "{port}"],
    env: { ...process.env, TENURE_LOG_LEVEL: flags["log-level"] },
    // The request log goes to a file, as a deployment's would go to a collector: kept for errors.
    stdoutFile: join(database.dir, "tenure.log"),
  });
}

function quietGate(flags: Flags): QuietGate {
  // Quiet: under 20% of the machine busy, which is less than half of one of its two cores.
  return new QuietGate(20, flags["quiet-wait"] * 1000, 60_000, (busy) =>
    log(`  (waiting for other load to pass: machine ${Math.round(busy)}% busy)`),
  );
}

function memoryFigures(
  tenure: ChildServer,
  floor: ChildServer,
  rssAtStart: number,
  rssAfterRegistration: number,
): MemoryFigures {
  const mem = processMemory(tenure.pid);
  return {
    tenure_peak_rss_mb: mem.peak_rss_mb,
    tenure_rss_at_start_mb: rssAtStart,
    tenure_rss_after_registration_mb: rssAfterRegistration,
    tenure_rss_end_mb: mem.rss_mb,
    floor_peak_rss_mb: processMemory(floor.pid).peak_rss_mb,
    target_max_mb: TARGETS.max_rss_mb,
    met: mem.peak_rss_mb < TARGETS.max_rss_mb,
  };
}

function profileOf(
  database: ScratchDatabase,
  phases: Record<string, TimeWindow>,
): RegistryBenchResult["profile"] {
  const saved = join(RESULTS_DIR, `registry-${database.dialect}.cpuprofile`);
  saveCpuProfile(join(database.dir, "profile"), saved, "the server");
  return {
    file: saved,
    phases: Object.fromEntries(
      Object.entries(phases).map(([name, window]) => [name, summarizeCpuProfile(saved, window)]),
    ),
  };
}

function printProfile(result: RegistryBenchResult): void {
  const profile = result.profile;
  if (!profile) return;
  log(`\n== ${result.dialect}: tenure server CPU profile (${profile.file}) ==`);
  for (const [phase, summary] of Object.entries(profile.phases)) {
    for (const line of formatProfileSummary(`phase "${phase}"`, summary)) log(line);
  }
}
