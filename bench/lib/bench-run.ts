/**
 * What every benchmark shares: its declaration (name and options), where it writes its results,
 * the build it measures and the machine it ran on.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import {
  type OptionSpec,
  type OptionSpecs,
  type Options,
  optionsUsage,
  parseOptions,
} from "./bench-options.js";
import { log } from "./log.js";
import type { Dialect } from "./scratch-database.js";
import { round } from "./stats.js";
import { type Teardown, withTeardown } from "./teardown.js";

/** The repository: the benchmarks run its bin/tenure.js and their own scripts from here. */
export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const RESULTS_DIR = join(ROOT, "bench", "results");

/** A benchmark as bench/run.ts runs it: its usage is printed from its declared options. */
export interface Bench {
  name: string;
  usage: string;
  run(argv: string[]): Promise<void>;
}

export function defineBench<T extends OptionSpecs>(
  name: string,
  options: T,
  run: (flags: Options<T>) => Promise<void>,
): Bench {
  return {
    name,
    usage: `npm run bench -- ${name} [options]\n${optionsUsage(options)}`,
    run: (argv) => run(parseOptions(argv, options)),
  };
}

export const DIALECT_OPTION = {
  schema: z.enum(["sqlite", "postgres", "both"]).default("both"),
  value: "sqlite|postgres|both",
  help: "",
} satisfies OptionSpec;

export const POSTGRES_URL_OPTION = {
  schema: z
    .string()
    .regex(/^postgres(ql)?:\/\//)
    .default(process.env.TENURE_BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test"),
  value: "URL",
  help: "server to create the scratch database on; TENURE_BENCH_POSTGRES_URL sets the default",
} satisfies OptionSpec;

/**
 * Runs a benchmark on each dialect chosen, one after the other, each with a teardown of its own
 * (Ctrl-C or a kill stops its processes and drops its scratch databases rather than leave them),
 * and writes each result, with the build it measured, as bench/results/NAME-DIALECT.json.
 */
export async function benchDialects<R extends object>(
  name: string,
  choice: Dialect | "both",
  benchDialect: (dialect: Dialect, teardown: Teardown) => Promise<R>,
): Promise<(R & { build: string })[]> {
  const build = startRun();
  const results: (R & { build: string })[] = [];
  for (const dialect of choice === "both" ? (["sqlite", "postgres"] as const) : [choice]) {
    log(`\n== ${name} benchmark: ${dialect} ==`);
    const result = { ...(await withTeardown((teardown) => benchDialect(dialect, teardown))), build };
    log(`\nwrote ${writeResult(`${name}-${dialect}.json`, result)}`);
    results.push(result);
  }
  return results;
}

/**
 * Makes bench/results and logs a short digest of the built dist/ that the run measures: others
 * change src/ while benchmarks run, so a figure is only meaningful with the build it measured.
 */
export function startRun(): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const dist = join(ROOT, "dist");
  const hash = createHash("sha256");
  const files = readdirSync(dist, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".js"))
    .sort();
  for (const file of files) hash.update(file).update(readFileSync(join(dist, file)));
  const build = hash.digest("hex").slice(0, 12);
  log(`tenure build under test: dist/ sha256 ${build}`);
  return build;
}

/** Writes a result as bench/results/NAME (pretty JSON) and returns its path. */
export function writeResult(name: string, result: unknown): string {
  const file = join(RESULTS_DIR, name);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** What every result file says of its run: when, how long, on what machine, with which options. */
export interface RunFacts {
  /** sha256 (12 hex) of the dist/*.js files served, set once per run. */
  build?: string;
  started_at: string;
  seconds: number;
  machine: MachineInfo;
  options: Record<string, unknown>;
}

/** A run's facts from its start to now; the PostgreSQL server's URL is left out (it may hold a password). */
export function runFacts(started: number, flags: Record<string, unknown>): Omit<RunFacts, "build"> {
  return {
    started_at: new Date(started).toISOString(),
    seconds: round((Date.now() - started) / 1000, 1),
    machine: machineInfo(),
    options: { ...flags, "postgres-url": undefined },
  };
}

/** The machine a figure was measured on, for the result file. */
export function machineInfo() {
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? "unknown",
    memory_gb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

export type MachineInfo = ReturnType<typeof machineInfo>;
