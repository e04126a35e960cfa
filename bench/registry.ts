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
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { z } from "zod";
import { BARE_VARIANTS } from "./lib/bare-variants.js";
import type { BareWriteFigures } from "./lib/bare-writes.js";
import { machineInfo, parseBenchFlags } from "./lib/bench-run.js";
import { type Census, type ListShape, takeCensus } from "./lib/census.js";
import { type ChildServer, startChildServer } from "./lib/child-server.js";
import { summarizeCpuProfile, type TimeWindow } from "./lib/cpu-profile.js";
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

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS_DIR = join(ROOT, "bench", "results");

const Flags = z.strictObject({
  dialect: z.enum(["sqlite", "postgres", "both"]).default("both"),
  count: z.coerce.number().int().min(1_000).max(1_000_000).default(100_000),
  connections: z.coerce.number().int().min(1).max(1_024).default(32),
  "read-connections": z.coerce.number().int().min(1).max(1_024).default(16),
  rounds: z.coerce.number().int().min(1).max(50).default(5),
  "read-rounds": z.coerce.number().int().min(1).max(50).default(3),
  "read-seconds": z.coerce.number().int().min(1).max(120).default(4),
  "log-level": z.enum(["fatal", "error", "warn", "info", "debug"]).default("info"),
  profile: z.boolean().default(false),
  "bare-variant": z.enum(BARE_VARIANTS).default("schema"),
  "skip-reads": z.boolean().default(false),
  "quiet-wait": z.coerce.number().int().min(0).max(120).default(15),
  "postgres-url": z
    .string()
    .regex(/^postgres(ql)?:\/\//)
    .default(process.env.TENURE_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test"),
});
type Flags = z.infer<typeof Flags>;

export const REGISTRY_USAGE = `npm run bench -- registry [options]
  --dialect sqlite|postgres|both   (both)
  --count N                        registrations (100000)
  --connections N                  for registrations, Tenure and floor alike (32)
  --read-connections N             for list reads (16)
  --rounds N                       registration rounds, alternating floor and Tenure (5)
  --read-rounds N / --read-seconds S   list rounds and their length (3 x 4 s)
  --log-level LEVEL                Tenure's TENURE_LOG_LEVEL (info, its default)
  --profile                        run Tenure under node --cpu-prof and print its top frames
  --skip-reads                     registrations and memory only
  --bare-variant V                 PostgreSQL's bare write server: schema (as Tenure's), or with
                                   something taken away: no-foreign-keys, no-list-indexes, async-commit
  --quiet-wait S                   before each round, wait up to S s for other load to pass
                                   (15; at most 60 s per dialect in all; 0: never)
  --postgres-url URL               server to create the scratch database on`;

export async function registryBench(argv: string[]): Promise<void> {
  const flags = parseBenchFlags(argv, Flags, ["profile", "skip-reads"]);
  const dialects: Dialect[] = flags.dialect === "both" ? ["sqlite", "postgres"] : [flags.dialect];
  mkdirSync(RESULTS_DIR, { recursive: true });
  const build = distFingerprint();
  log(`tenure build under test: dist/ sha256 ${build}`);
  const results: RegistryBenchResult[] = [];
  for (const dialect of dialects) {
    const result = { ...(await benchDialect(dialect, flags)), build };
    const file = join(RESULTS_DIR, `registry-${dialect}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`\nwrote ${file}`);
    results.push(result);
  }
  log(`\n== registry benchmark: summary (medians over rounds; ratio = tenure / floor) ==\n`);
  log(formatSummary(results));
  for (const result of results) {
    if (result.profile) printProfile(result);
  }
}

/**
 * A short digest of the built dist/ that the run serves: others change src/ while benchmarks run,
 * so a figure is only meaningful with the build it measured.
 */
function distFingerprint(): string {
  const dist = join(ROOT, "dist");
  const hash = createHash("sha256");
  const files = readdirSync(dist, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".js"))
    .sort();
  for (const file of files) hash.update(file).update(readFileSync(join(dist, file)));
  return hash.digest("hex").slice(0, 12);
}

/** Everything one dialect's run keeps alive, so that a failure or Ctrl-C can tear it down. */
interface Running {
  database?: ScratchDatabase;
  /** PostgreSQL: the bare write server's own database. */
  bareDatabase?: ScratchDatabase;
  servers: ChildServer[];
}

async function benchDialect(dialect: Dialect, flags: Flags): Promise<RegistryBenchResult> {
  const started = Date.now();
  const running: Running = { servers: [] };
  const interrupt = () => {
    void teardown(running).finally(() => process.exit(130));
  };
  // Ctrl-C or a kill: stop the servers and drop the scratch database rather than leave them.
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    log(`\n== registry benchmark: ${dialect} ==`);
    running.database = await createScratchDatabase(dialect, flags["postgres-url"]);
    const database = running.database;
    const token = await createToken(database.url);
    const tenure = await startTenure(database, flags);
    running.servers.push(tenure);
    const rssAtStart = processMemory(tenure.pid).rss_mb;
    const floor = await startChildServer({
      name: "floor",
      cwd: ROOT,
      args: ["--import", "tsx", "bench/floor-server.ts", "--port", "{port}"],
    });
    running.servers.push(floor);
    log(`tenure pid ${tenure.pid} at ${tenure.url}; floor pid ${floor.pid} at ${floor.url}`);
    const bare = dialect === "postgres" ? await startBare(running, flags) : undefined;

    const auth = { authorization: `Bearer ${token}` };
    const gate = quietGate(flags);
    const phases: Record<string, TimeWindow> = {};
    const registration = await benchRegistration({ dialect, tenure, floor, bare, auth, flags, gate, phases });
    if (bare) {
      // Its database and connections are not to weigh on the list phase.
      await bare.stop();
      running.servers = running.servers.filter((server) => server !== bare);
    }
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

    await Promise.all(running.servers.map((s) => s.stop()));
    const profile = flags.profile ? profileOf(database, phases) : undefined;
    return {
      bench: "registry",
      dialect,
      started_at: new Date(started).toISOString(),
      seconds: round((Date.now() - started) / 1000, 1),
      machine: machineInfo(),
      options: { ...flags, "postgres-url": undefined },
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
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    await teardown(running);
  }
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

async function teardown(running: Running): Promise<void> {
  await Promise.allSettled(running.servers.map((s) => s.stop(5_000)));
  running.servers = [];
  await running.database?.drop();
  running.database = undefined;
  await running.bareDatabase?.drop();
  running.bareDatabase = undefined;
}

/** PostgreSQL: the bare write server, on a scratch database of its own (it migrates it). */
async function startBare(running: Running, flags: Flags): Promise<ChildServer> {
  running.bareDatabase = await createScratchDatabase("postgres", flags["postgres-url"]);
  const bare = await startChildServer({
    name: "bare",
    cwd: ROOT,
    args: [
      "--import",
      "tsx",
      "bench/lib/bare-postgres-server.ts",
      "--port",
      "{port}",
      "--database",
      running.bareDatabase.url,
      "--variant",
      flags["bare-variant"],
    ],
  });
  running.servers.push(bare);
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
  const profileArgs = flags.profile ? ["--cpu-prof", "--cpu-prof-dir", join(database.dir, "profile")] : [];
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
  const dir = join(database.dir, "profile");
  const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}: did the server exit cleanly?`);
  const saved = join(RESULTS_DIR, `registry-${database.dialect}.cpuprofile`);
  copyFileSync(join(dir, file), saved);
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
  const section = (title: string, rows: { frame: string; ms: number; pct: number }[]) => {
    log(`  ${title}`);
    for (const row of rows.slice(0, 15)) {
      log(`    ${row.pct.toFixed(1).padStart(5)}%  ${String(row.ms).padStart(7)} ms  ${row.frame}`);
    }
  };
  for (const [phase, summary] of Object.entries(profile.phases)) {
    log(
      `\n-- phase "${phase}": main thread busy ${summary.total_ms} ms, idle ${summary.idle_ms} ms ` +
        "(shares below are of busy time)",
    );
    section("self time by origin:", summary.by_origin);
    section("functions by self time:", summary.top_self);
    section("tenure functions by inclusive time:", summary.tenure_inclusive);
  }
}
