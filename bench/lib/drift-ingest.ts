/**
 * The drift benchmark's ingest phase: `POST /v1/deployments/{id}/samples` on a Tenure server
 * (SQLite in a scratch folder) against the floor (bench/floor-server.ts --routes samples), which
 * parses and validates the same body and keeps nothing. Batches of ROWS rows × 10 features (7 numbers, 3 categories,
 * one a boolean), all to one live deployment (a busy model; autocannon here sends one path),
 * in alternating rounds, floor first.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { type ChildServer, startChildServer } from "./child-server.js";
import { type LoadResult, runLoad } from "./load.js";
import { type CpuUse, CpuWindow, processMemory } from "./proc-stats.js";
import type { ScratchDatabase } from "./scratch-database.js";
import { median, round } from "./stats.js";
import type { Teardown } from "./teardown.js";
import { registrationBody } from "./workload.js";

export interface IngestOptions {
  root: string;
  database: ScratchDatabase;
  connections: number;
  seconds: number;
  rounds: number;
  rowsPerBatch: number;
  log: (line: string) => void;
}

export interface IngestRound {
  server: "tenure" | "floor";
  load: LoadResult;
  rows_per_s: number;
  cpu: CpuUse;
}

export interface IngestResult {
  rows_per_batch: number;
  features: number;
  connections: number;
  rounds: IngestRound[];
  tenure_rows_per_s: number;
  floor_rows_per_s: number;
  ratio: number;
  tenure_peak_rss_mb: number;
  floor_peak_rss_mb: number;
}

const BODIES = 16;
const CATEGORIES = ["web", "ios", "android", "partner", "batch", "kiosk"];
const COUNTRIES = ["DE", "FR", "US", "BR", "IN", "JP", "NG", "GB", "ES", "IT", "PL", "SE"];

/** Deterministic request bodies: ROWS rows of 10 features each. */
export function sampleBodies(rows: number): string[] {
  let state = 12_345;
  const next = () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 4_294_967_296;
  };
  return Array.from({ length: BODIES }, () => {
    const batch = Array.from({ length: rows }, () => ({
      amount: round(next() * 500, 2),
      age_days: Math.floor(next() * 3_650),
      score: round(next(), 4),
      latency_ms: round(next() * next() * 800, 1),
      items: Math.floor(next() * 12),
      discount: round(next() * 0.3, 3),
      distance_km: round(next() * 40, 2),
      channel: CATEGORIES[Math.floor(next() * CATEGORIES.length)] as string,
      country: COUNTRIES[Math.floor(next() * COUNTRIES.length)] as string,
      returning: next() < 0.6,
    }));
    return JSON.stringify({ rows: batch });
  });
}

async function tenureCli(root: string, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["bin/tenure.js", ...args], { cwd: root });
  return stdout.trim();
}

async function registerDeployments(server: ChildServer, token: string, count: number): Promise<number[]> {
  const ids: number[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${server.url}/v1/deployments`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ ...registrationBody(i), role: undefined }),
    });
    const body = (await response.json()) as { id?: number };
    if (response.status !== 201 || typeof body.id !== "number")
      throw new Error(`registering a deployment: ${response.status} ${JSON.stringify(body)}`);
    ids.push(body.id);
  }
  return ids;
}

/** Starts both servers, runs the rounds, stops both; `teardown` stops them should the run fail or be interrupted. */
export async function benchIngest(options: IngestOptions, teardown: Teardown): Promise<IngestResult> {
  const { root, database, log } = options;
  const token = await tenureCli(root, [
    "token",
    "create",
    "--scope",
    "admin",
    "--name",
    "bench",
    "--database",
    database.url,
  ]);
  if (!/^tnr_[A-Za-z0-9_-]+$/.test(token)) throw new Error(`tenure token create printed ${token}`);
  const tenure = teardown.server(
    await startChildServer({
      name: "tenure",
      cwd: root,
      args: ["bin/tenure.js", "serve", "--database", database.url, "--port", "{port}"],
      stdoutFile: join(database.dir, "tenure.log"),
    }),
  );
  const floor = teardown.server(
    await startChildServer({
      name: "floor",
      cwd: root,
      args: ["--import", "tsx", "bench/floor-server.ts", "--routes", "samples", "--port", "{port}"],
    }),
  );
  try {
    const ids = await registerDeployments(tenure, token, 1);
    const bodies = sampleBodies(options.rowsPerBatch);
    log(
      `ingest: tenure pid ${tenure.pid}, floor pid ${floor.pid}; deployment ${ids[0]}, ` +
        `${BODIES} bodies of ${options.rowsPerBatch} rows × 10 features (${round(
          (bodies[0]?.length ?? 0) / 1024,
          0,
        )} KiB each), ${options.connections} connections`,
    );
    const rounds: IngestRound[] = [];
    const load = async (server: ChildServer, seconds: number, progress: boolean) => {
      let n = 0;
      const cpu = new CpuWindow(server.pid);
      const result = await runLoad({
        label: `${server.name} samples`,
        url: server.url,
        connections: options.connections,
        seconds,
        progress,
        request: {
          method: "POST",
          path: `/v1/deployments/${ids[0]}/samples`,
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          nextBody: () => bodies[n++ % bodies.length] as string,
        },
      });
      return { result, cpu: cpu.end() };
    };
    // Warm-up: both servers compile their paths (and Tenure creates the day's rows) first.
    await load(floor, 2, false);
    await load(tenure, 2, false);
    for (let round_ = 0; round_ < options.rounds; round_++) {
      for (const server of [floor, tenure]) {
        const { result, cpu } = await load(server, options.seconds, false);
        if (result.non2xx > 0 || result.errors > 0)
          log(`  ${server.name}: ${JSON.stringify(result.status_codes)}, ${result.errors} errors`);
        const rowsPerS = Math.round(result.req_per_s * options.rowsPerBatch);
        log(
          `  round ${round_ + 1} ${server.name.padEnd(6)} ${rowsPerS.toLocaleString("en-US").padStart(9)} rows/s ` +
            `(${round(result.req_per_s, 1)} req/s, p50 ${round(result.p50_ms, 1)} ms, p99 ${round(result.p99_ms, 1)} ms; ` +
            `server ${Math.round(cpu.server_cpu_pct)}% of a core, bench ${Math.round(cpu.bench_cpu_pct)}%, ` +
            `rest ${Math.round(cpu.rest_cpu_pct)}%)`,
        );
        rounds.push({ server: server.name as "tenure" | "floor", load: result, rows_per_s: rowsPerS, cpu });
      }
    }
    const rate = (name: string) => median(rounds.filter((r) => r.server === name).map((r) => r.rows_per_s));
    const tenureRate = rate("tenure");
    const floorRate = rate("floor");
    return {
      rows_per_batch: options.rowsPerBatch,
      features: 10,
      connections: options.connections,
      rounds,
      tenure_rows_per_s: tenureRate,
      floor_rows_per_s: floorRate,
      ratio: round(tenureRate / floorRate, 3),
      tenure_peak_rss_mb: round(processMemory(tenure.pid).peak_rss_mb, 1),
      floor_peak_rss_mb: round(processMemory(floor.pid).peak_rss_mb, 1),
    };
  } finally {
    await Promise.allSettled([tenure.stop(5_000), floor.stop(5_000)]);
  }
}
