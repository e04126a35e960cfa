/**
 * The sweep benchmark: a full sweep of COUNT live deployments under 50 policies against a bare
 * scan that reads the same rows with the same page query in the same process (the floor), on
 * SQLite and on PostgreSQL, and the sweep process's memory.
 *
 *   npm run bench -- sweep [--dialect sqlite|postgres|both] [--count N] [--rounds N] [--profile]
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
import {
  cpuProfileArgs,
  formatProfileSummary,
  type ProfileSummary,
  saveCpuProfile,
  summarizeCpuProfile,
  type TimeWindow,
} from "./lib/cpu-profile.js";
import { log } from "./lib/log.js";
import { createScratchDatabase, type Dialect, type ScratchDatabase } from "./lib/scratch-database.js";
import { round } from "./lib/stats.js";
import { type ChildResult, formatSummary, type SweepBenchResult, summarize } from "./lib/sweep-report.js";
import { policyYaml, seedFleet } from "./lib/sweep-workload.js";
import type { Teardown } from "./lib/teardown.js";

const OPTIONS = {
  dialect: DIALECT_OPTION,
  count: {
    schema: integer(1_000, 1_000_000).default(100_000),
    value: "N",
    help: "live deployments, under 50 policies",
  },
  rounds: {
    schema: integer(1, 50).default(5),
    value: "N",
    help: "rounds of bare scan + steady sweep, after one first sweep",
  },
  profile: switchOption("run the sweep process under node --cpu-prof and print its top frames"),
  "quiet-wait": {
    schema: integer(0, 120).default(15),
    value: "S",
    help: "before each round, wait up to S s for other load to pass (at most 90 s per dialect in all; 0: never)",
  },
  "postgres-url": POSTGRES_URL_OPTION,
};
type Flags = Options<typeof OPTIONS>;

export const sweepBench = defineBench("sweep", OPTIONS, async (flags) => {
  const results = await benchDialects("sweep", flags.dialect, (dialect, teardown) =>
    benchDialect(dialect, flags, teardown),
  );
  log(`\n== sweep benchmark: summary (ratio = steady sweep median / bare scan median) ==\n`);
  log(formatSummary(results));
  for (const result of results) printProfile(result);
});

async function benchDialect(
  dialect: Dialect,
  flags: Flags,
  teardown: Teardown,
): Promise<Omit<SweepBenchResult, "build">> {
  const started = Date.now();
  const database = teardown.database(await createScratchDatabase(dialect, flags["postgres-url"]));
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
  const profileArgs = flags.profile ? cpuProfileArgs(profileDir) : [];
  await runChild(teardown, [
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
    ...runFacts(started, flags),
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
}

/** Runs `node ARGS` with the bench's stdout and stderr; rejects unless it exits 0. */
async function runChild(teardown: Teardown, args: string[]): Promise<void> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  teardown.process(child, "the sweep process");
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (exitCode, signal) => resolve(signal ? null : exitCode));
  });
  if (code !== 0) throw new Error(`the sweep process exited with ${code ?? "a signal"}`);
}

function profileOf(database: ScratchDatabase, child: ChildResult): SweepBenchResult["profile"] {
  const saved = join(RESULTS_DIR, `sweep-${database.dialect}.cpuprofile`);
  saveCpuProfile(join(database.dir, "profile"), saved, "the sweep process");
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
  for (const [name, summary] of [
    ["steady sweeps (all rounds)", profile.steady_sweeps],
    ["bare scans (all rounds)", profile.scans],
    ["first sweep", profile.first_sweep],
  ] as const) {
    for (const line of formatProfileSummary(name, summary)) log(line);
  }
}
