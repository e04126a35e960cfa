/**
 * A/B pairs for the gateway's performance work on a machine that is not quiet: one upstream (and
 * a shadow upstream), one scratch SQLite registry, the Node floor, and any number of gateways
 * built from different trees or started in different modes, measured in alternating order in
 * the same time window, so that what the neighbours do falls on every variant alike. Prints one
 * line a run and the medians per variant at the end (req/s, p50, p99, CPU µs a request).
 *
 *   node --import tsx bench/lib/gateway-ab.ts [--rate R] [--rounds N] [--duration S] \
 *     [--variant NAME=ROOT[,registry][,shadowed][,taskset=CPUS][,--node-flag]] ... [--no-floor]
 *
 * ROOT is `floor` (the floor again, with node flags) or a tree holding bin/tenure.js and its dist/ (a copy of a build: `cp -r dist bin
 * package.json /tmp/before/` with node_modules linked). `registry` starts the gateway with
 * --registry against a `tenure serve` on the same database (a write token), instead of
 * --database; `shadowed` posts to the model with a 100% shadow; `taskset=1` pins the gateway
 * (and `--upstream-taskset` the upstreams) to those CPUs; a mode starting with `--` is a flag for
 * node (`--max-semi-space-size=64`). --rate 0 is saturated.
 */
import { execFile } from "node:child_process";
import { parseArgs, promisify } from "node:util";
import { ROOT } from "./bench-run.js";
import { type ChildServer, startChildServer } from "./child-server.js";
import { log } from "./log.js";
import { machineCpu, processTreeCpuSeconds } from "./proc-stats.js";
import { createScratchDatabase } from "./scratch-database.js";
import { median } from "./stats.js";
import { runWrk, type WrkResult } from "./wrk.js";

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "0" },
    rounds: { type: "string", default: "5" },
    duration: { type: "string", default: "8" },
    warmup: { type: "string", default: "2" },
    connections: { type: "string", default: "64" },
    variant: { type: "string", multiple: true, default: [] },
    "no-floor": { type: "boolean", default: false },
    "upstream-taskset": { type: "string" },
    "flush-interval": { type: "string" },
  },
});
const rate = Number(values.rate);
const rounds = Number(values.rounds);
const duration = Number(values.duration);
const warmup = Number(values.warmup);
const connections = Number(values.connections);

const MODEL = "bench-model";
const SHADOWED = "bench-shadowed";

interface Peer {
  name: string;
  url: string;
  pid: number;
}

const servers: ChildServer[] = [];
const database = await createScratchDatabase("sqlite", "");
const run = promisify(execFile);
const tenure = async (root: string, args: string[]) =>
  (await run(process.execPath, [`${root}/bin/tenure.js`, ...args], { cwd: ROOT })).stdout;
const pinned = (cpus: string | undefined, args: string[]) =>
  cpus ? { command: "taskset", args: ["-c", cpus, process.execPath, ...args] } : { args };

try {
  const upstreamArgs = (version: string) => [
    "--import",
    "tsx",
    "bench/lib/gateway-upstream.ts",
    "--port",
    "{port}",
    "--version",
    version,
  ];
  const start = async (name: string, how: { command?: string; args: string[] }, env?: NodeJS.ProcessEnv) => {
    const server = await startChildServer({ name, cwd: ROOT, ...how, ...(env ? { env } : {}) });
    servers.push(server);
    return server;
  };
  const upstream = await start("upstream", pinned(values["upstream-taskset"], upstreamArgs("1.0.0")));
  const shadow = await start("shadow", pinned(values["upstream-taskset"], upstreamArgs("2.0.0")));
  const common = ["--trained-through", "2026-06-01", "--team", "bench", "--database", database.url];
  await tenure(ROOT, ["init", "--database", database.url]);
  await tenure(ROOT, ["deploy", MODEL, "1.0.0", "--endpoint", upstream.url, ...common]);
  await tenure(ROOT, ["deploy", SHADOWED, "1.0.0", "--endpoint", upstream.url, ...common]);
  await tenure(ROOT, ["deploy", SHADOWED, "2.0.0", "--role", "shadow", "--endpoint", shadow.url, ...common]);

  const peers: Peer[] = [];
  if (!values["no-floor"]) {
    const floor = await start("floor", {
      args: ["--import", "tsx", "bench/lib/proxy-floor.ts", "--port", "{port}", "--upstream", upstream.url],
    });
    peers.push({ name: "floor", url: `${floor.url}/${MODEL}/predict`, pid: floor.pid });
  }
  let serve: ChildServer | undefined;
  let token = "";
  for (const spec of values.variant) {
    const name = spec.slice(0, spec.indexOf("="));
    const rest = spec.slice(spec.indexOf("=") + 1);
    const [root = ROOT, ...modes] = rest.split(",");
    const cpus = modes.find((m) => m.startsWith("taskset="))?.slice("taskset=".length);
    const nodeFlags = modes.filter((m) => m.startsWith("--"));
    if (root === "floor") {
      // The floor with node flags of its own (the same young generation as a gateway, say).
      const floor = await start(name, {
        args: [
          ...nodeFlags,
          "--import",
          "tsx",
          "bench/lib/proxy-floor.ts",
          "--port",
          "{port}",
          "--upstream",
          upstream.url,
        ],
      });
      peers.push({ name, url: `${floor.url}/${MODEL}/predict`, pid: floor.pid });
      continue;
    }
    const args = [
      ...nodeFlags,
      `${root}/bin/tenure.js`,
      "gateway",
      "--port",
      "{port}",
      "--environment",
      "production",
    ];
    if (values["flush-interval"]) args.push("--flush-interval", values["flush-interval"]);
    if (modes.includes("registry")) {
      if (!serve) {
        serve = await start("serve", {
          args: [`${ROOT}/bin/tenure.js`, "serve", "--port", "{port}", "--database", database.url],
        });
        token = (
          await tenure(ROOT, ["token", "create", "--scope", "write", "--database", database.url])
        ).trim();
      }
      args.push("--registry", serve.url, "--token", token);
    } else args.push("--database", database.url);
    const gateway = await start(`${name}`, pinned(cpus, args), { ...process.env, TENURE_LOG_LEVEL: "info" });
    const model = modes.includes("shadowed") ? SHADOWED : MODEL;
    peers.push({ name: name as string, url: `${gateway.url}/${model}/predict`, pid: gateway.pid });
  }
  for (const peer of peers) await answers(peer);
  log(`peers: ${peers.map((p) => `${p.name} (pid ${p.pid})`).join(", ")}; rate ${rate || "saturated"}`);

  const runs = new Map<string, Array<WrkResult & { cpu_us: number; busy: number }>>();
  for (let round = 0; round < rounds; round++) {
    for (const peer of round % 2 === 0 ? peers : [...peers].reverse()) {
      const options = { url: peer.url, connections, ...(rate > 0 ? { rate } : {}) };
      if (warmup > 0) await runWrk({ ...options, seconds: warmup });
      const cpu0 = processTreeCpuSeconds(peer.pid);
      const m0 = machineCpu();
      const result = await runWrk({ ...options, seconds: duration });
      const cpu = processTreeCpuSeconds(peer.pid) - cpu0;
      const m1 = machineCpu();
      const busy = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100;
      const cpu_us = (cpu * 1e6) / Math.max(1, result.requests);
      runs.set(peer.name, [...(runs.get(peer.name) ?? []), { ...result, cpu_us, busy }]);
      log(
        `  round ${round + 1} ${peer.name.padEnd(16)} ${Math.round(result.req_per_s).toString().padStart(6)} req/s` +
          `  p50 ${result.p50_ms.toFixed(2)}  p99 ${result.p99_ms.toFixed(2)} ms  CPU ${Math.round(cpu_us)} us/req` +
          `  machine ${Math.round(busy)}%${result.non2xx + result.errors ? `  FAILED ${result.non2xx + result.errors}` : ""}`,
      );
    }
  }
  log(
    `\nmedians over ${rounds} round(s), ${duration} s each, ${rate ? `${rate} req/s asked` : "saturated"}:`,
  );
  log("variant            req/s    p50 ms   p99 ms  CPU us/req  machine%");
  for (const [name, list] of runs) {
    const m = (pick: (r: (typeof list)[number]) => number) => median(list.map(pick));
    log(
      `${name.padEnd(16)} ${Math.round(m((r) => r.req_per_s))
        .toString()
        .padStart(7)} ${m((r) => r.p50_ms)
        .toFixed(2)
        .padStart(8)} ` +
        `${m((r) => r.p99_ms)
          .toFixed(2)
          .padStart(8)} ${Math.round(m((r) => r.cpu_us))
          .toString()
          .padStart(11)} ${Math.round(m((r) => r.busy))
          .toString()
          .padStart(9)}`,
    );
  }
} finally {
  for (const server of servers.reverse()) await server.stop().catch(() => {});
  await database.drop();
}

async function answers(peer: Peer): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      const response = await fetch(peer.url, {
        method: "POST",
        body: "{}",
        signal: AbortSignal.timeout(2000),
      });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not yet.
    }
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${peer.name} did not answer ${peer.url}`);
}
