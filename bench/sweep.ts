/**
 * The sweep benchmark: a full sweep of COUNT live deployments under 50 policies against a bare
 * scan that reads the same rows with the same page query in the same process (the floor), on
 * SQLite and on PostgreSQL, and the sweep process's memory.
 *
 *   npm run bench -- sweep [--dialect sqlite|postgres|both] [--count N] [--rounds N] [--profile]
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { machineInfo, parseBenchFlags } from "./lib/bench-run.js";
import { type ProfileSummary, summarizeCpuProfile, type TimeWindow } from "./lib/cpu-profile.js";
import { log } from "./lib/log.js";
import { createScratchDatabase, type Dialect, type ScratchDatabase } from "./lib/scratch-database.js";
import { round } from "./lib/stats.js";
import { type ChildResult, formatSummary, type SweepBenchResult, summarize } from "./lib/sweep-report.js";
import { policyYaml, seedFleet } from "./lib/sweep-workload.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const RESULTS_DIR = join(ROOT, "bench", "results");

const Flags = z.strictObject({
  dialect: z.enum(["sqlite", "postgres", "both"]).default("both"),
  count: z.coerce.number().int().min(1_000).max(1_000_000).default(100_000),
  rounds: z.coerce.number().int().min(1).max(50).default(5),
  profile: z.boolean().default(false),
  "quiet-wait": z.coerce.number().int().min(0).max(120).default(15),
  "postgres-url": z
    .string()
    .regex(/^postgres(ql)?:\/\//)
    .default(process.env.TENURE_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test"),
});
type Flags = z.infer<typeof Flags>;

export const SWEEP_USAGE = `npm run bench -- sweep [options]
  --dialect sqlite|postgres|both   (both)
  --count N                        live deployments (100000), under 50 policies
  --rounds N                       rounds of bare scan + steady sweep (5), after one first sweep
  --profile                        run the sweep process under node --cpu-prof and print its top frames
  --quiet-wait S                   before each round, wait up to S s for other load to pass
                                   (15; at most 90 s per dialect in all; 0: never)
  --postgres-url URL               server to create the scratch database on`;

export async function sweepBench(argv: string[]): Promise<void> {
  const flags = parseBenchFlags(argv, Flags, ["profile"]);
  const dialects: Dialect[] = flags.dialect === "both" ? ["sqlite", "postgres"] : [flags.dialect];
  mkdirSync(RESULTS_DIR, { recursive: true });
  const build = distFingerprint();
  log(`tenure build under test: dist/ sha256 ${build}`);
  const results: SweepBenchResult[] = [];
  for (const dialect of dialects) {
    const result = { ...(await benchDialect(dialect, flags)), build };
    const file = join(RESULTS_DIR, `sweep-${dialect}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${file}`);
    results.push(result);
  }
  log(`\n== sweep benchmark: summary (ratio = steady sweep median / bare scan median) ==\n`);
  log(formatSummary(results));
  for (const result of results) printProfile(result);
}

/** A short digest of the built dist/ the run measured: others change src/ while benchmarks run. */
function distFingerprint(): string {
  const dist = join(ROOT, "dist");
  const hash = createHash("sha256");
  const files = readdirSync(dist, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".js"))
    .sort();
  for (const file of files) hash.update(file).update(readFileSync(join(dist, file)));
  return hash.digest("hex").slice(0, 12);
}

/** What one dialect's run keeps alive, so that a failure or Ctrl-C can tear it down. */
interface Running {
  database?: ScratchDatabase;
  child?: ChildProcess;
}

async function benchDialect(dialect: Dialect, flags: Flags): Promise<Omit<SweepBenchResult, "build">> {
  const started = Date.now();
  const running: Running = {};
  const interrupt = () => {
    void teardown(running).finally(() => process.exit(130));
  };
  // Ctrl-C or a kill: stop the sweep process and drop the scratch database rather than leave them.
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    log(`\n== sweep benchmark: ${dialect} ==`);
    running.database = await createScratchDatabase(dialect, flags["postgres-url"]);
    const database = running.database;
    const policies = join(database.dir, "policies.yaml");
    writeFileSync(policies, policyYaml());
    // Whole minutes, so that the steady sweeps' evaluation time (one hour later) reads plainly.
    const at = Math.floor(Date.now() / 60_000) * 60_000;
    const seedStarted = Date.now();
    const fleet = await seedFleet(database.url, flags.count, at);
    const seedSeconds = (Date.now() - seedStarted) / 1000;
    log(
      `seeded ${fleet.deployments.toLocaleString("en-US")} live deployments over ${fleet.models} models × ` +
        `${fleet.environments} environments in ${round(seedSeconds, 1)} s (${JSON.stringify(fleet.by_role)}, ` +
        `${fleet.with_tags} with tags)`,
    );

    const out = join(database.dir, "sweep-child.json");
    const profileDir = join(database.dir, "profile");
    const profileArgs = flags.profile ? ["--cpu-prof", "--cpu-prof-dir", profileDir] : [];
    await runChild(running, [
      ...profileArgs,
      "--import",
      "tsx",
      "bench/lib/sweep-child.ts",
      "--database",
      database.url,
      "--policies",
      policies,
      "--at",
      String(at),
      "--rounds",
      String(flags.rounds),
      "--quiet-wait",
      String(flags["quiet-wait"]),
      "--out",
      out,
    ]);
    const child = JSON.parse(readFileSync(out, "utf8")) as ChildResult;
    for (const [name, plan] of Object.entries(child.plans)) log(`plan ${name}:\n  ${plan.join("\n  ")}`);
    log(`outbox after the last sweep: ${JSON.stringify(child.outbox)}`);
    const profile = flags.profile ? profileOf(database, child) : undefined;
    return {
      bench: "sweep",
      dialect,
      started_at: new Date(started).toISOString(),
      seconds: round((Date.now() - started) / 1000, 1),
      machine: machineInfo(),
      options: { ...flags, "postgres-url": undefined },
      peers: {
        tenure:
          "lifecycle.sweep({ at: first + 1h, trigger: 'manual' }) through openContext from dist/, in a child process",
        floor:
          "the same child paging through the live deployments with the sweep's own page query " +
          "(DeploymentStore.liveDeployments, 1000 rows by id), doing nothing with the rows",
      },
      fleet,
      seed_seconds: round(seedSeconds, 1),
      evaluated_at: at,
      summary: summarize(child),
      child,
      ...(profile ? { profile } : {}),
    };
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
    await teardown(running);
  }
}

/** Runs `node ARGS` with the bench's stdout and stderr; rejects unless it exits 0. */
async function runChild(running: Running, args: string[]): Promise<void> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  running.child = child;
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode, signal) => resolve(signal ? null : exitCode));
  });
  running.child = undefined;
  if (code !== 0) throw new Error(`the sweep process exited with ${code ?? "a signal"}`);
}

async function teardown(running: Running): Promise<void> {
  const child = running.child;
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  running.child = undefined;
  await running.database?.drop();
  running.database = undefined;
}

function profileOf(database: ScratchDatabase, child: ChildResult): SweepBenchResult["profile"] {
  const dir = join(database.dir, "profile");
  const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}: did the sweep process exit cleanly?`);
  const saved = join(RESULTS_DIR, `sweep-${database.dialect}.cpuprofile`);
  copyFileSync(join(dir, file), saved);
  return {
    file: saved,
    first_sweep: summarizeCpuProfile(saved, child.first_sweep.window),
    steady_sweeps: mergedSummary(
      saved,
      child.rounds.map((r) => r.sweep.window),
    ),
    scans: mergedSummary(
      saved,
      child.rounds.map((r) => r.scan.window),
    ),
  };
}

/** One summary over several windows of a profile: the steady sweeps of every round together. */
function mergedSummary(file: string, windows: TimeWindow[], top = 20): ProfileSummary {
  const parts = windows.map((window) => summarizeCpuProfile(file, window, Number.MAX_SAFE_INTEGER));
  const total = parts.reduce((sum, p) => sum + p.total_ms, 0);
  const merge = (pick: (p: ProfileSummary) => ProfileSummary["top_self"]) => {
    const times = new Map<string, number>();
    for (const part of parts)
      for (const row of pick(part)) times.set(row.frame, (times.get(row.frame) ?? 0) + row.ms);
    return [...times]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, ms]) => ({ frame, ms, pct: Math.round((ms / total) * 1000) / 10 }));
  };
  return {
    total_ms: total,
    idle_ms: parts.reduce((sum, p) => sum + p.idle_ms, 0),
    top_self: merge((p) => p.top_self),
    by_origin: merge((p) => p.by_origin),
    tenure_inclusive: merge((p) => p.tenure_inclusive),
  };
}

function printProfile(result: SweepBenchResult): void {
  const profile = result.profile;
  if (!profile) return;
  log(`\n== ${result.dialect}: sweep process CPU profile (${profile.file}) ==`);
  const section = (title: string, rows: { frame: string; ms: number; pct: number }[]) => {
    log(`  ${title}`);
    for (const row of rows.slice(0, 15)) {
      log(`    ${row.pct.toFixed(1).padStart(5)}%  ${String(row.ms).padStart(7)} ms  ${row.frame}`);
    }
  };
  for (const [name, summary] of [
    ["steady sweeps (all rounds)", profile.steady_sweeps],
    ["bare scans (all rounds)", profile.scans],
    ["first sweep", profile.first_sweep],
  ] as const) {
    log(
      `\n-- ${name}: main thread busy ${summary.total_ms} ms, idle ${summary.idle_ms} ms ` +
        "(shares below are of busy time)",
    );
    section("self time by origin:", summary.by_origin);
    section("functions by self time:", summary.top_self);
    section("tenure functions by inclusive time:", summary.tenure_inclusive);
  }
}
