/**
 * The load benchmark: a started `tenure serve` under a fixed request rate, reads and writes at
 * once, for minutes, beside a bare Fastify server (bench/floor-server.ts --routes load) given the
 * same rate at the same time, so both meet the same neighbours. What it checks: no request fails,
 * the rate is held, p99 latency, and that what the server retains levels off: the heap left after
 * a forced full collection, sampled inside both servers by bench/lib/heap-probe.mjs (loaded with
 * `--expose-gc --import`, only here), whose last third must rise no more than its noise. RSS is
 * reported beside it.
 *
 *   reads:  GET /v1/deployments?limit=50, GET /v1/deployments/{id}, GET /v1/fleet
 *   writes: POST /v1/deployments (a new version of one of 300 models: it supersedes the last),
 *           POST /v1/deployments/{id}/metrics, POST /v1/deployments/{id}/heartbeat
 *   also:   GET /metrics every --scrape-seconds, a sweep every minute (--sweep-cron)
 *
 *   npm run bench -- load [--minutes 3] [--rate 200] [--dialect sqlite|postgres|both] ...
 */
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type autocannon from "autocannon";
import { z } from "zod";
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
import { type ChildServer, startChildServer } from "./lib/child-server.js";
import { formatHeapTrend, HEAP_PROBE, type HeapTrend, heapTrend, readProbe } from "./lib/heap-trend.js";
import {
  createToken,
  readRequests,
  scrapeEvery,
  seedFleet,
  storePeerAnswers,
  writeRequests,
} from "./lib/load-workload.js";
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
    schema: integer(0, 3_600).default(60),
    value: "S",
    help: "the start left out of the RSS growth and the heap's slope after warm-up",
  },
  "sample-seconds": {
    schema: integer(1, 60).default(10),
    value: "S",
    help: "how often RSS is sampled, and the heap after a forced full collection (which pauses the server)",
  },
  "scrape-seconds": {
    schema: integer(0, 3_600).default(15),
    value: "S",
    help: "how often GET /metrics is read, as Prometheus would (0: never)",
  },
  "sweep-cron": {
    schema: z.string().min(1).default("* * * * *"),
    value: "CRON",
    help: "when the server sweeps (its --sweep-cron)",
  },
  snapshots: switchOption(
    "write a heap snapshot of each server after warm-up and at the end, beside the result (pauses them for seconds)",
  ),
  "postgres-url": POSTGRES_URL_OPTION,
};
type Flags = Options<typeof OPTIONS>;

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
  /** The heap after a forced full collection, sampled inside each server. */
  heap: { tenure: HeapTrend; peer: HeapTrend };
  scrapes: { scrapes: number; failed: number };
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
  // Beside the result, not in the scratch directory: the heap snapshots written there outlive the run.
  const probe = (name: string) => join(RESULTS_DIR, `load-${dialect}-heap-${name}.jsonl`);
  for (const name of ["tenure", "peer"]) rmSync(probe(name), { force: true });
  const probed = (name: string) => ({ ...process.env, TENURE_BENCH_HEAP_FILE: probe(name) });
  const tenure = teardown.server(
    await startChildServer({
      name: "tenure",
      cwd: ROOT,
      args: [
        ...["--expose-gc", "--import", HEAP_PROBE, "bin/tenure.js", "serve"],
        ...["--database", database.url, "--port", "{port}", "--sweep-cron", flags["sweep-cron"]],
      ],
      env: probed("tenure"),
      // Info logs, as a deployment's, to a file, as a deployment's would go to a collector.
      stdoutFile: join(database.dir, "tenure.log"),
    }),
  );
  const peer = teardown.server(
    await startChildServer({
      name: "peer",
      cwd: ROOT,
      args: [
        ...["--expose-gc", "--import", HEAP_PROBE, "--import", "tsx"],
        ...["bench/floor-server.ts", "--port", "{port}", "--routes", "load"],
      ],
      env: probed("peer"),
    }),
  );
  log(`tenure pid ${tenure.pid} at ${tenure.url}; peer (bare Fastify) pid ${peer.pid} at ${peer.url}`);
  const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const ids = await seedFleet(tenure.url, auth, flags.fleet);
  await storePeerAnswers(tenure.url, peer.url, auth, ids[0] ?? 1);
  log(`registered ${ids.length} deployments; ${flags.rate} req/s to each server for ${flags.minutes} min`);

  const seconds = flags.minutes * 60;
  const started = performance.now();
  const startedAt = Date.now();
  const samples: RssSample[] = [];
  let snapshotTaken = false;
  const sample = (snapshot: boolean) => {
    for (const [name, server] of [
      ["tenure", tenure],
      ["peer", peer],
    ] as const) {
      if (snapshot) writeFileSync(`${probe(name)}.snapshot`, "");
      process.kill(server.pid, "SIGUSR2");
    }
    samples.push({
      t_s: round((performance.now() - started) / 1000, 1),
      tenure_mb: round(processMemory(tenure.pid).rss_mb, 1),
      peer_mb: round(processMemory(peer.pid).rss_mb, 1),
    });
  };
  sample(false);
  const sampler = setInterval(() => {
    const warm = (performance.now() - started) / 1000 >= flags["warmup-seconds"];
    sample(flags.snapshots && warm && !snapshotTaken);
    if (warm) snapshotTaken = true;
    const last = samples.at(-1);
    // The probe's latest line: the sample before this one, whose collection has run.
    const heap = (name: string) => readProbe(probe(name), startedAt).samples.at(-1)?.heap_mb ?? "?";
    if (last)
      log(
        `  ${String(Math.round(last.t_s)).padStart(4)} s  rss tenure ${last.tenure_mb} MiB, peer ${last.peer_mb} MiB;` +
          ` heap after gc tenure ${heap("tenure")} MiB, peer ${heap("peer")} MiB`,
      );
  }, flags["sample-seconds"] * 1000);
  const scraper = scrapeEvery(tenure.url, auth, flags["scrape-seconds"]);
  const half = flags.rate / 2;
  const run = (server: ChildServer, requests: autocannon.Request[]) =>
    steadyLoad({ url: server.url, rate: half, connections: flags.connections, seconds, requests });
  const [tenureReads, tenureWrites, peerReads, peerWrites] = await Promise.all([
    run(tenure, readRequests(auth, ids)),
    run(tenure, writeRequests(auth, ids)),
    run(peer, readRequests(auth, ids)),
    run(peer, writeRequests(auth, ids)),
  ]).finally(() => {
    clearInterval(sampler);
    scraper.stop();
  });
  sample(flags.snapshots);
  // The probe writes its line once the server's event loop takes the signal, and a snapshot takes seconds.
  await waitForProbe(probe("tenure"), samples.length, flags.snapshots ? 120_000 : 10_000);
  await waitForProbe(probe("peer"), samples.length, flags.snapshots ? 120_000 : 10_000);

  const all = [tenureReads, tenureWrites];
  const requests = all.reduce((sum, r) => sum + r.requests, 0);
  const failed = all.reduce((sum, r) => sum + r.failed, 0);
  const errorRate = requests > 0 ? failed / requests : 1;
  const rateHeld = (tenureReads.req_per_s + tenureWrites.req_per_s) / flags.rate;
  const rssTenure = growth(samples, "tenure_mb", flags["warmup-seconds"], seconds);
  const rssPeer = growth(samples, "peer_mb", flags["warmup-seconds"], seconds);
  const trend = (name: string) => {
    const read = readProbe(probe(name), startedAt);
    return { ...heapTrend(read.samples, flags["warmup-seconds"], read.snapshots), samples: read.samples };
  };
  const heapTenure = trend("tenure");
  return {
    dialect,
    rate: flags.rate,
    load_seconds: seconds,
    tenure: { reads: rounded(tenureReads), writes: rounded(tenureWrites) },
    peer: { reads: rounded(peerReads), writes: rounded(peerWrites) },
    rss: { samples, tenure: rssTenure, peer: rssPeer },
    heap: { tenure: heapTenure, peer: trend("peer") },
    scrapes: scraper.counts,
    error_rate: errorRate,
    rate_held: round(rateHeld, 3),
    passed: failed === 0 && scraper.counts.failed === 0 && heapTenure.plateau && rateHeld >= MIN_RATE_HELD,
  };
}

async function waitForProbe(file: string, lines: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (readProbe(file, 0).samples.length < lines && Date.now() < deadline) await delay(200);
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
    formatHeapTrend("tenure", r.heap.tenure),
    formatHeapTrend("peer", r.heap.peer),
    `  GET /metrics: ${r.scrapes.scrapes} scrapes, ${r.scrapes.failed} failed`,
    `  error rate ${r.error_rate}; rate held ${(r.rate_held * 100).toFixed(1)}%; ${r.passed ? "PASSED" : "FAILED"} ` +
      `(0 errors, Tenure's heap after gc levels off, rate held >= ${MIN_RATE_HELD * 100}%; RSS is not judged)`,
  ].join("\n");
}
