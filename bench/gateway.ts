/**
 * The gateway benchmark: one upstream model server (bench/lib/gateway-upstream.ts, a small JSON
 * responder in its own process), and in front of it, in the same run, with the same load
 * generator (wrk, one thread) and the same connection count:
 *
 *   upstream        the model server directly;
 *   nginx           Debian's nginx as a reverse proxy: one worker, an upstream block with
 *                   keepalive 64, HTTP/1.1 to the upstream, no access log;
 *   http-proxy      node-http-proxy with a keep-alive agent (bench/lib/proxy-http-proxy.ts);
 *   floor           the Node floor: node:http forwarding with undici, nothing of Tenure's
 *                   (bench/lib/proxy-floor.ts);
 *   gateway         `tenure gateway` on a scratch SQLite registry where the model's primary has
 *                   the upstream as its endpoint;
 *   gateway+shadow  the same gateway, for a second model that has a shadow deployment too (a
 *                   second upstream process), mirrored at 100%;
 *   floor x2, gateway x2   two processes each, through node:cluster round-robin (bench/lib/cluster.ts).
 *
 * Saturated throughput: the median of --rounds runs, the order reversed every other round.
 * Latency: p99 at a fixed rate of half the gateway's own saturated median, for the floor, the
 * gateway, the gateway with shadowing, http-proxy and nginx. Then the issue's ratios.
 *
 *   npm run bench -- gateway [--rounds N] [--duration S] [--connections N] [--quick]
 */
import { execFile } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { z } from "zod";
import { integer, type Options, switchOption } from "./lib/bench-options.js";
import { defineBench, ROOT, runFacts, startRun, writeResult } from "./lib/bench-run.js";
import { type ChildServer, startChildServer } from "./lib/child-server.js";
import {
  checks,
  formatChecks,
  formatTable,
  type PeerName,
  type PeerRun,
  summarize,
  TARGETS,
} from "./lib/gateway-report.js";
import { log } from "./lib/log.js";
import { machineCpu, processTreeCpuSeconds, QuietGate } from "./lib/proc-stats.js";
import { createScratchDatabase, type ScratchDatabase } from "./lib/scratch-database.js";
import { median, round } from "./lib/stats.js";
import { type Teardown, withTeardown } from "./lib/teardown.js";
import { onPath, runWrk } from "./lib/wrk.js";

const OPTIONS = {
  rounds: {
    schema: integer(1, 50).default(5),
    value: "N",
    help: "rounds of every peer, saturated and then at the fixed rate, the order reversed every other round",
  },
  duration: { schema: integer(1, 600).default(10), value: "S", help: "seconds of each measured run" },
  warmup: {
    schema: integer(0, 60).default(2),
    value: "S",
    help: "seconds of load before each run, not measured",
  },
  connections: {
    schema: integer(1, 1_024).default(64),
    value: "N",
    help: "wrk connections, the same for every peer",
  },
  quick: switchOption("one round of 2 s runs after 1 s warm-ups: checks the harness, measures nothing"),
  client: {
    schema: z.enum(["dispatch", "request", "pool", "stream"]).default("dispatch"),
    value: "dispatch|request|pool|stream",
    help: "the floor's undici call: Agent.dispatch with a handler (as the gateway), request, Pool.request, or stream",
  },
  "log-level": {
    schema: z.enum(["fatal", "error", "warn", "info", "debug"]).default("info"),
    value: "LEVEL",
    help: "the gateway's TENURE_LOG_LEVEL, by default the same as Tenure's",
  },
  "quiet-wait": {
    schema: integer(0, 120).default(10),
    value: "S",
    help: "before each run, wait up to S s for other load to pass (at most 120 s in all; 0: never)",
  },
};
type Flags = Options<typeof OPTIONS>;

/** The two models the gateway serves: one plain, one with a shadow deployment. */
const MODEL = "bench-model";
const SHADOWED = "bench-shadowed";
const NGINX_CANDIDATES = ["nginx", "/usr/sbin/nginx"];

interface Peer {
  name: PeerName;
  server: ChildServer;
  /** The URL wrk posts to. */
  url: string;
  processes: number;
}

export const gatewayBench = defineBench("gateway", OPTIONS, async (given) => {
  const flags: Flags = given.quick ? { ...given, rounds: 1, duration: 2, warmup: 1, "quiet-wait": 0 } : given;
  const nginx = NGINX_CANDIDATES.find((candidate) =>
    candidate.startsWith("/") ? existsSync(candidate) : onPath(candidate),
  );
  if (!nginx) {
    log("gateway bench: nginx not found; install Debian's: apt-get update && apt-get install -y nginx-light");
    process.exitCode = 1;
    return;
  }
  if (!onPath("wrk")) {
    log("gateway bench: wrk not found; install Debian's: apt-get update && apt-get install -y wrk");
    process.exitCode = 1;
    return;
  }
  const build = startRun();
  const started = Date.now();
  const result = await withTeardown((teardown) => benchGateway(flags, nginx, teardown));
  log(
    `\nwrote ${writeResult("gateway.json", { bench: "gateway", build, ...runFacts(started, flags), ...result })}`,
  );
});

async function benchGateway(flags: Flags, nginx: string, teardown: Teardown) {
  const database = teardown.database(await createScratchDatabase("sqlite", ""));
  const upstream = teardown.server(await startUpstream("upstream", "1.0.0"));
  const shadowUpstream = teardown.server(await startUpstream("shadow upstream", "2.0.0"));
  log(
    `upstream pid ${upstream.pid} at ${upstream.url}; shadow upstream pid ${shadowUpstream.pid} at ${shadowUpstream.url}`,
  );

  const peers: Peer[] = [
    { name: "upstream", server: upstream, url: `${upstream.url}/predict`, processes: 1 },
  ];
  const proxied = (name: PeerName, server: ChildServer, processes = 1, model = MODEL): Peer => ({
    name,
    server,
    url: `${server.url}/${model}/predict`,
    processes,
  });
  peers.push(proxied("nginx", teardown.server(await startNginx(nginx, database.dir, upstream.url))));
  peers.push(
    proxied(
      "http-proxy",
      teardown.server(await startNode("http-proxy", "bench/lib/proxy-http-proxy.ts", upstream.url)),
    ),
  );
  const floorArgs = ["--client", flags.client];
  peers.push(
    proxied(
      "floor",
      teardown.server(await startNode("floor", "bench/lib/proxy-floor.ts", upstream.url, floorArgs)),
    ),
  );

  const gatewayBuilt = await hasGatewayCommand();
  if (gatewayBuilt) {
    await registerModels(database, upstream.url, shadowUpstream.url);
    const gateway = teardown.server(await startGateway("gateway", database, flags, 1));
    peers.push(proxied("gateway", gateway), proxied("gateway+shadow", gateway, 1, SHADOWED));
  } else {
    log(
      "gateway: not built yet (bin/tenure.js has no gateway command): skipping the gateway, " +
        "the gateway with shadowing and the gateway x2; measuring the peers only",
    );
  }
  peers.push(
    proxied(
      "floor x2",
      teardown.server(await startNode("floor x2", "bench/lib/proxy-floor.ts", upstream.url, floorArgs, 2)),
      2,
    ),
  );
  if (gatewayBuilt) {
    const gateways = teardown.server(await startGateway("gateway x2", database, flags, 2));
    peers.push(proxied("gateway x2", gateways, 2));
  }
  for (const peer of [...peers]) {
    try {
      await waitForAnswers(peer);
    } catch (error) {
      // One peer that cannot run (a gateway that refuses to share its port) must not lose the rest.
      if (peer.processes === 1) throw error;
      log(`${peer.name}: skipped, it did not start: ${error instanceof Error ? error.message : error}`);
      peers.splice(peers.indexOf(peer), 1);
      await peer.server.stop();
    }
  }
  log(`peers: ${peers.map((p) => `${p.name} (pid ${p.server.pid})`).join(", ")}`);

  const gate = new QuietGate(20, flags["quiet-wait"] * 1000, 120_000, (busy) =>
    log(`  (waiting for other load to pass: machine ${Math.round(busy)}% busy)`),
  );
  const runs: PeerRun[] = [];
  log(`\n== saturated: ${flags.rounds} round(s) of ${flags.duration} s, ${flags.connections} connections ==`);
  for (let round = 0; round < flags.rounds; round++) {
    for (const peer of round % 2 === 0 ? peers : [...peers].reverse()) {
      runs.push(await measure(peer, round, flags, gate));
    }
  }

  const anchor = gatewayBuilt ? "gateway" : "floor";
  const anchorRate = median(runs.filter((r) => r.peer === anchor).map((r) => r.req_per_s));
  const rate = Math.max(1, Math.round(anchorRate / 2));
  const fixedPeers = peers.filter((p) =>
    (["floor", "gateway", "gateway+shadow", "http-proxy", "nginx"] as PeerName[]).includes(p.name),
  );
  log(
    `\n== fixed rate: ${rate.toLocaleString("en-US")} req/s (half the ${anchor}'s saturated median` +
      `${gatewayBuilt ? "" : ", as the gateway is not built"}), ${flags.rounds} round(s) ==`,
  );
  for (let round = 0; round < flags.rounds; round++) {
    for (const peer of round % 2 === 0 ? fixedPeers : [...fixedPeers].reverse()) {
      runs.push(await measure(peer, round, flags, gate, rate));
    }
  }

  const processes = (name: PeerName) => peers.find((p) => p.name === name)?.processes ?? 1;
  const summaries = summarize(runs, processes);
  const found = checks(summaries);
  log(`\n== gateway benchmark: medians over ${flags.rounds} round(s); wrk -t1 -c${flags.connections} ==\n`);
  log(formatTable(summaries));
  log(`\n${formatChecks(found)}`);
  if (!gatewayBuilt) log("\ngateway: not built yet; the targets that need it are left out");
  return {
    gateway_built: gatewayBuilt,
    fixed_rate: { asked: rate, anchor },
    peers: {
      upstream: "bench/lib/gateway-upstream.ts: node:http, ~190 bytes of JSON per POST, X-Model-Version",
      nginx: `${nginx} (Debian), worker_processes 1, upstream keepalive 64, proxy_http_version 1.1, access_log off`,
      "http-proxy": "bench/lib/proxy-http-proxy.ts: http-proxy 1.18 proxy.web, http.Agent keepAlive",
      floor: `bench/lib/proxy-floor.ts: node:http + undici 7 (--client ${flags.client}), hop-by-hop headers dropped`,
      gateway: "node bin/tenure.js gateway --environment production --database <sqlite>",
      "gateway+shadow": `the same gateway, model ${SHADOWED}: a primary and a shadow (second upstream)`,
      "floor x2": "bench/lib/cluster.ts --workers 2 (round-robin) of the floor",
      "gateway x2": "bench/lib/cluster.ts --workers 2 (round-robin) of the gateway",
      load: `wrk 4 -t1 -c${flags.connections}, bench/lib/wrk-load.lua (POST ~100 bytes of JSON)`,
    },
    targets: TARGETS,
    quiet_wait_s: gate.waited_s,
    summaries,
    checks: found,
    runs,
  };
}

async function measure(
  peer: Peer,
  round: number,
  flags: Flags,
  gate: QuietGate,
  rate?: number,
): Promise<PeerRun> {
  await gate.wait();
  const options = { url: peer.url, connections: flags.connections, ...(rate ? { rate } : {}) };
  if (flags.warmup > 0) await runWrk({ ...options, seconds: flags.warmup });
  const cpuBefore = processTreeCpuSeconds(peer.server.pid);
  const machineBefore = machineCpu();
  const result = await runWrk({ ...options, seconds: flags.duration });
  const cpu = processTreeCpuSeconds(peer.server.pid) - cpuBefore;
  const machine = machineCpu();
  const answered = result.requests - result.non2xx - result.errors;
  const run: PeerRun = {
    peer: peer.name,
    round,
    ...(rate ? { rate_asked: rate } : {}),
    ...result,
    cpu_us_per_request: answered > 0 ? (cpu * 1e6) / answered : Number.NaN,
    machine_busy_pct: ((machine.busy - machineBefore.busy) / (machine.total - machineBefore.total)) * 100,
  };
  const failed = result.non2xx + result.errors;
  log(
    `  round ${round + 1} ${peer.name.padEnd(15)} ${Math.round(result.req_per_s).toLocaleString("en-US").padStart(7)} req/s` +
      `  p50 ${round2(result.p50_ms)} ms  p99 ${round2(result.p99_ms)} ms  CPU ${Math.round(run.cpu_us_per_request)} us/req` +
      `  machine ${Math.round(run.machine_busy_pct)}% busy${failed ? `  FAILED ${failed}` : ""}`,
  );
  return run;
}

const round2 = (value: number) => round(value, 2).toFixed(2);

function startUpstream(name: string, version: string): Promise<ChildServer> {
  return startChildServer({
    name,
    cwd: ROOT,
    args: ["--import", "tsx", "bench/lib/gateway-upstream.ts", "--port", "{port}", "--version", version],
  });
}

/** A Node peer from bench/lib, alone or as `workers` processes behind node:cluster. */
function startNode(name: string, script: string, upstream: string, extra: string[] = [], workers = 1) {
  const own = [script, "--port", "{port}", "--upstream", upstream, ...extra];
  return startChildServer({
    name,
    cwd: ROOT,
    args:
      workers === 1
        ? ["--import", "tsx", ...own]
        : ["--import", "tsx", "bench/lib/cluster.ts", "--workers", String(workers), "--", ...own],
  });
}

/** nginx as the current user, its configuration, pid, logs and temp files all in `dir`. */
function startNginx(nginx: string, dir: string, upstream: string): Promise<ChildServer> {
  const conf = join(dir, "nginx.conf");
  return startChildServer({
    name: "nginx",
    command: nginx,
    cwd: dir,
    args: ["-p", dir, "-c", conf, "-e", join(dir, "nginx-error.log")],
    beforeStart: (port) => writeFileSync(conf, nginxConfig(dir, port, new URL(upstream).host)),
  });
}

export function nginxConfig(dir: string, port: number, upstreamHost: string): string {
  // As root, nginx would hand its worker to `nobody`: keep it as the user running the bench.
  const user = process.getuid?.() === 0 ? "user root;\n" : "";
  return `${user}worker_processes 1;
daemon off;
master_process on;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "nginx-error.log")} warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${join(dir, "nginx-client-body")};
  proxy_temp_path ${join(dir, "nginx-proxy")};
  fastcgi_temp_path ${join(dir, "nginx-fastcgi")};
  uwsgi_temp_path ${join(dir, "nginx-uwsgi")};
  scgi_temp_path ${join(dir, "nginx-scgi")};
  keepalive_requests 1000000;
  keepalive_timeout 65s;
  upstream model {
    server ${upstreamHost};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location = /healthz { return 200 "ok"; }
    location /${MODEL}/ {
      proxy_pass http://model/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

async function tenure(args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ["bin/tenure.js", ...args], { cwd: ROOT });
  return stdout;
}

/** Whether this build's CLI has the gateway command (helper A's, issue 16). */
async function hasGatewayCommand(): Promise<boolean> {
  return /^\s+gateway\b/m.test(await tenure(["--help"]));
}

/** A primary for each model, the upstream its endpoint; the shadowed model also a shadow. */
async function registerModels(database: ScratchDatabase, upstream: string, shadow: string): Promise<void> {
  const common = ["--trained-through", "2026-06-01", "--team", "bench", "--database", database.url];
  await tenure(["init", "--database", database.url]);
  await tenure(["deploy", MODEL, "1.0.0", "--endpoint", upstream, ...common]);
  await tenure(["deploy", SHADOWED, "1.0.0", "--endpoint", upstream, ...common]);
  await tenure(["deploy", SHADOWED, "2.0.0", "--role", "shadow", "--endpoint", shadow, ...common]);
}

function startGateway(name: string, database: ScratchDatabase, flags: Flags, workers: number) {
  const gateway = ["bin/tenure.js", "gateway", "--port", "{port}", "--environment", "production"];
  const args = [...gateway, "--database", database.url];
  return startChildServer({
    name,
    cwd: ROOT,
    args:
      workers === 1
        ? args
        : ["--import", "tsx", "bench/lib/cluster.ts", "--workers", String(workers), "--", ...args],
    env: { ...process.env, TENURE_LOG_LEVEL: flags["log-level"] },
    stdoutFile: join(database.dir, `${name.replace(/\W+/g, "-")}.log`),
  });
}

/**
 * Until the peer answers the benchmark's request with a 200 (a gateway loads its routes after
 * it listens; a cluster's workers start one after the other): polled, at most 30 s.
 */
async function waitForAnswers(peer: Peer): Promise<void> {
  const deadline = Date.now() + 30_000;
  let last = "";
  // A cluster answers as soon as its first worker listens: wait for them all (bench/lib/cluster.ts).
  while (peer.processes > 1 && !peer.server.stderrTail().includes("workers listening")) {
    if (Date.now() > deadline || peer.server.stderrTail().includes("cluster: worker")) {
      throw new Error(`not all its workers listened:\n${peer.server.stderrTail().trim().slice(-600)}`);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  while (Date.now() < deadline) {
    try {
      const response = await fetch(peer.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"features":{}}',
        signal: AbortSignal.timeout(2_000),
      });
      last = `${response.status} ${await response.text()}`;
      if (response.ok) return;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(
    `${peer.name} did not answer ${peer.url} with a 200 within 30 s: ${last}\n${peer.server.stderrTail()}`,
  );
}
