/**
 * The load benchmark: a started `tenure serve` under a fixed request rate, reads and writes at
 * once, for minutes, beside a bare Fastify server (bench/floor-server.ts --routes load) given the
 * same rate at the same time, so both meet the same neighbours. What it checks: no request fails,
 * p99 latency, and a resident set that stays flat after warm-up (a leak shows as growth).
 *
 *   reads:  GET /v1/deployments?limit=50, GET /v1/deployments/{id}, GET /v1/fleet
 *   writes: POST /v1/deployments (a new version of one of 300 models: it supersedes the last),
 *           POST /v1/deployments/{id}/metrics, POST /v1/deployments/{id}/heartbeat
 *
 *   npm run bench -- load [--minutes 3] [--rate 200] [--dialect sqlite|postgres|both] ...
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type autocannon from "autocannon";
import { integer, type Options } from "./lib/bench-options.js";
import {
  benchDialects,
  DIALECT_OPTION,
  defineBench,
  POSTGRES_URL_OPTION,
  ROOT,
  runFacts,
} from "./lib/bench-run.js";
import { type ChildServer, startChildServer } from "./lib/child-server.js";
import { log } from "./lib/log.js";
import { processMemory } from "./lib/proc-stats.js";
import { createScratchDatabase, type Dialect } from "./lib/scratch-database.js";
import { median, round } from "./lib/stats.js";
import { type SteadyLoadResult, steadyLoad } from "./lib/steady-load.js";
import type { Teardown } from "./lib/teardown.js";

const OPTIONS = {
  dialect: { ...DIALECT_OPTION, schema: DIALECT_OPTION.schema.removeDefault().default("sqlite") },
  minutes: { schema: integer(1, 120).default(3), value: "M", help: "how long the load lasts" },
  rate: {
    schema: integer(2, 100_000).default(100),
    value: "N",
    help: "requests a second to each server, half reads and half writes",
  },
  connections: {
    schema: integer(2, 1_000).default(16),
    value: "N",
    help: "connections to each server, per kind",
  },
  fleet: {
    schema: integer(1, 100_000).default(500),
    value: "N",
    help: "deployments registered before the load",
  },
  "warmup-seconds": {
    schema: integer(0, 3_600).default(30),
    value: "S",
    help: "the start left out of the RSS growth",
  },
  "sample-seconds": { schema: integer(1, 60).default(5), value: "S", help: "how often RSS is sampled" },
  "postgres-url": POSTGRES_URL_OPTION,
};
type Flags = Options<typeof OPTIONS>;

/** The RSS growth allowed from the window after warm-up to the last window. */
const MAX_RSS_GROWTH = 0.1;
/**
 * The share of the asked rate that must be answered for the rate to count as held: a server
 * that falls behind is sent fewer requests (autocannon waits for each answer on a connection),
 * so a slow server would otherwise pass on a lighter load than was asked.
 */
const MIN_RATE_HELD = 0.95;

interface RssSample {
  t_s: number;
  tenure_mb: number;
  peer_mb: number;
}

export interface LoadBenchResult {
  dialect: Dialect;
  rate: number;
  load_seconds: number;
  tenure: { reads: SteadyLoadResult; writes: SteadyLoadResult };
  peer: { reads: SteadyLoadResult; writes: SteadyLoadResult };
  rss: {
    samples: RssSample[];
    tenure: RssGrowth;
    peer: RssGrowth;
  };
  error_rate: number;
  /** Answers a second over the asked rate, for Tenure's reads and writes together. */
  rate_held: number;
  passed: boolean;
}

interface RssGrowth {
  /** Median RSS over the first window after warm-up, and over the last window. */
  after_warmup_mb: number;
  last_mb: number;
  max_mb: number;
  growth: number;
}

export const loadBench = defineBench("load", OPTIONS, async (flags) => {
  const results = await benchDialects("load", flags.dialect, async (dialect, teardown) => {
    const started = Date.now();
    const result = await benchDialect(dialect, flags, teardown);
    return { ...result, ...runFacts(started, flags) };
  });
  log("\n== load benchmark: summary ==");
  for (const r of results) log(formatSummary(r));
  if (results.some((r) => !r.passed)) process.exitCode = 1;
});

async function benchDialect(dialect: Dialect, flags: Flags, teardown: Teardown): Promise<LoadBenchResult> {
  const database = teardown.database(await createScratchDatabase(dialect, flags["postgres-url"]));
  const token = await createToken(database.url);
  const tenure = teardown.server(
    await startChildServer({
      name: "tenure",
      cwd: ROOT,
      args: ["bin/tenure.js", "serve", "--database", database.url, "--port", "{port}"],
      // Info logs, as a deployment's, to a file, as a deployment's would go to a collector.
      stdoutFile: join(database.dir, "tenure.log"),
    }),
  );
  const peer = teardown.server(
    await startChildServer({
      name: "peer",
      cwd: ROOT,
      args: ["--import", "tsx", "bench/floor-server.ts", "--port", "{port}", "--routes", "load"],
    }),
  );
  log(`tenure pid ${tenure.pid} at ${tenure.url}; peer (bare Fastify) pid ${peer.pid} at ${peer.url}`);
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const ids = await seedFleet(tenure.url, auth, flags.fleet);
  await storePeerAnswers(tenure.url, peer.url, auth, ids[0] ?? 1);
  log(`registered ${ids.length} deployments; ${flags.rate} req/s to each server for ${flags.minutes} min`);

  const seconds = flags.minutes * 60;
  const started = performance.now();
  const samples: RssSample[] = [];
  const sample = () =>
    samples.push({
      t_s: round((performance.now() - started) / 1000, 1),
      tenure_mb: round(processMemory(tenure.pid).rss_mb, 1),
      peer_mb: round(processMemory(peer.pid).rss_mb, 1),
    });
  sample();
  const sampler = setInterval(() => {
    sample();
    const last = samples.at(-1);
    if (last)
      log(
        `  ${String(Math.round(last.t_s)).padStart(4)} s  rss tenure ${last.tenure_mb} MiB, peer ${last.peer_mb} MiB`,
      );
  }, flags["sample-seconds"] * 1000);
  const half = flags.rate / 2;
  const run = (server: ChildServer, requests: autocannon.Request[]) =>
    steadyLoad({ url: server.url, rate: half, connections: flags.connections, seconds, requests });
  const [tenureReads, tenureWrites, peerReads, peerWrites] = await Promise.all([
    run(tenure, readRequests(auth, ids)),
    run(tenure, writeRequests(auth, ids)),
    run(peer, readRequests(auth, ids)),
    run(peer, writeRequests(auth, ids)),
  ]).finally(() => clearInterval(sampler));
  sample();

  const all = [tenureReads, tenureWrites];
  const requests = all.reduce((sum, r) => sum + r.requests, 0);
  const failed = all.reduce((sum, r) => sum + r.failed, 0);
  const errorRate = requests > 0 ? failed / requests : 1;
  const rateHeld = (tenureReads.req_per_s + tenureWrites.req_per_s) / flags.rate;
  const rssTenure = growth(samples, "tenure_mb", flags["warmup-seconds"], seconds);
  const rssPeer = growth(samples, "peer_mb", flags["warmup-seconds"], seconds);
  return {
    dialect,
    rate: flags.rate,
    load_seconds: seconds,
    tenure: { reads: rounded(tenureReads), writes: rounded(tenureWrites) },
    peer: { reads: rounded(peerReads), writes: rounded(peerWrites) },
    rss: { samples, tenure: rssTenure, peer: rssPeer },
    error_rate: errorRate,
    rate_held: round(rateHeld, 3),
    passed: failed === 0 && rssTenure.growth < MAX_RSS_GROWTH && rateHeld >= MIN_RATE_HELD,
  };
}

/** Median RSS of the first 30 s after warm-up against that of the last 30 s. */
function growth(
  samples: RssSample[],
  key: "tenure_mb" | "peer_mb",
  warmup: number,
  seconds: number,
): RssGrowth {
  const window = 30;
  const after = samples.filter((s) => s.t_s >= warmup && s.t_s < warmup + window).map((s) => s[key]);
  const last = samples.filter((s) => s.t_s >= seconds - window).map((s) => s[key]);
  const afterMb = median(after);
  const lastMb = median(last);
  return {
    after_warmup_mb: round(afterMb, 1),
    last_mb: round(lastMb, 1),
    max_mb: round(Math.max(...samples.filter((s) => s.t_s >= warmup).map((s) => s[key])), 1),
    growth: round(lastMb / afterMb - 1, 4),
  };
}

function rounded(r: SteadyLoadResult): SteadyLoadResult {
  return {
    ...r,
    req_per_s: round(r.req_per_s, 1),
    p50_ms: round(r.p50_ms, 2),
    p99_ms: round(r.p99_ms, 2),
    max_ms: round(r.max_ms, 2),
  };
}

function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

function readRequests(headers: Record<string, string>, ids: number[]): autocannon.Request[] {
  return [
    { method: "GET", path: "/v1/deployments?limit=50", headers },
    {
      method: "GET",
      path: "/v1/deployments/1",
      headers,
      setupRequest: (r) => ({ ...r, path: `/v1/deployments/${pick(ids)}` }),
    },
    { method: "GET", path: "/v1/fleet", headers },
  ];
}

function writeRequests(headers: Record<string, string>, ids: number[]): autocannon.Request[] {
  let n = 0;
  return [
    {
      method: "POST",
      path: "/v1/deployments",
      headers,
      setupRequest: (r) => {
        n++;
        return {
          ...r,
          body: JSON.stringify({
            model: `load-${n % 300}`,
            model_version: `v${n}`,
            training_data_cutoff: "2026-01-01T00:00:00.000Z",
            owner_team: `team-${n % 10}`,
          }),
        };
      },
    },
    {
      method: "POST",
      path: "/v1/deployments/1/metrics",
      headers,
      setupRequest: (r) => ({
        ...r,
        path: `/v1/deployments/${pick(ids)}/metrics`,
        body: JSON.stringify({ points: [{ name: "auc", value: 0.8 + Math.random() / 10 }] }),
      }),
    },
    {
      method: "POST",
      path: "/v1/deployments/1/heartbeat",
      headers,
      setupRequest: (r) => ({ ...r, path: `/v1/deployments/${pick(ids)}/heartbeat`, body: "{}" }),
    },
  ];
}

async function seedFleet(url: string, headers: Record<string, string>, count: number): Promise<number[]> {
  const ids: number[] = [];
  const worker = async (start: number) => {
    for (let n = start; n < count; n += 8) {
      const res = await fetch(`${url}/v1/deployments`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          model: `seed-${n}`,
          model_version: "1",
          training_data_cutoff: "2026-01-01T00:00:00.000Z",
          owner_team: `team-${n % 10}`,
        }),
      });
      if (res.status !== 201) throw new Error(`seeding: ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { id: number }).id);
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, i) => worker(i)));
  return ids;
}

/** The peer answers each read with what Tenure answered to it: same bytes on the wire. */
async function storePeerAnswers(
  tenureUrl: string,
  peerUrl: string,
  headers: Record<string, string>,
  id: number,
): Promise<void> {
  const routes = { list: "/v1/deployments?limit=50", one: `/v1/deployments/${id}`, fleet: "/v1/fleet" };
  for (const [route, path] of Object.entries(routes)) {
    const answer = await (await fetch(`${tenureUrl}${path}`, { headers })).json();
    const res = await fetch(`${peerUrl}/floor/answers`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ route, answer }),
    });
    if (res.status !== 204) throw new Error(`peer refused the ${route} answer: ${res.status}`);
  }
}

async function createToken(databaseUrl: string): Promise<string> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["bin/tenure.js", "token", "create", "--scope", "write", "--name", "load", "--database", databaseUrl],
    { cwd: ROOT },
  );
  const token = stdout.trim();
  if (!/^tnr_[A-Za-z0-9_-]+$/.test(token)) throw new Error(`tenure token create printed ${stdout}`);
  return token;
}

function formatSummary(r: LoadBenchResult): string {
  const line = (name: string, x: SteadyLoadResult) =>
    `  ${name.padEnd(14)} ${String(x.requests).padStart(7)} requests  ${String(x.failed).padStart(3)} failed  ` +
    `${x.req_per_s.toFixed(1).padStart(6)} ok/s  p50 ${x.p50_ms.toFixed(2)} ms  p99 ${x.p99_ms.toFixed(2)} ms  max ${x.max_ms.toFixed(1)} ms`;
  const rss = (name: string, g: RssGrowth) =>
    `  rss ${name.padEnd(10)} ${g.after_warmup_mb} MiB after warm-up -> ${g.last_mb} MiB at the end ` +
    `(${(g.growth * 100).toFixed(1)}%), max ${g.max_mb} MiB`;
  return [
    `\n${r.dialect}: ${r.rate} req/s to each server for ${r.load_seconds} s`,
    line("tenure reads", r.tenure.reads),
    line("tenure writes", r.tenure.writes),
    line("peer reads", r.peer.reads),
    line("peer writes", r.peer.writes),
    rss("tenure", r.rss.tenure),
    rss("peer", r.rss.peer),
    `  error rate ${r.error_rate}; rate held ${(r.rate_held * 100).toFixed(1)}%; ${r.passed ? "PASSED" : "FAILED"} ` +
      `(0 errors, RSS growth < ${MAX_RSS_GROWTH * 100}%, rate held >= ${MIN_RATE_HELD * 100}%)`,
  ].join("\n");
}
