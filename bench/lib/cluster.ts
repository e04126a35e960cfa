/**
 * Runs a server as N processes sharing one port through node:cluster with round-robin
 * scheduling (Node 20's http has no reusePort), so that the gateway and the Node floor scale
 * out the same way in the benchmark. Each worker runs the script with its own arguments and
 * listens as it would alone; the primary only hands out connections.
 *
 *   node --import tsx bench/lib/cluster.ts --workers 2 -- bench/lib/proxy-floor.ts --port 8081 ...
 *   node --import tsx bench/lib/cluster.ts --workers 2 -- bin/tenure.js gateway --port 8081 ...
 *
 * A `.ts` script runs with `--import tsx`, a `.js` one with no loader. Once every worker listens,
 * the primary writes `cluster: N workers listening` to stderr (the bench waits for it). SIGTERM or SIGINT stops
 * every worker; a worker that dies meanwhile stops the rest and the primary exits 1.
 */
import cluster from "node:cluster";
import { GATEWAY_SEMI_SPACE_MB } from "../../src/cli/young-generation.js";

const separator = process.argv.indexOf("--");
const own = process.argv.slice(2, separator < 0 ? undefined : separator);
const [script, ...args] = separator < 0 ? [] : process.argv.slice(separator + 1);
const workersAt = own.indexOf("--workers");
const workers = Number(workersAt < 0 ? Number.NaN : own[workersAt + 1]);
if (!script || !Number.isInteger(workers) || workers < 1 || workers > 64) {
  process.stderr.write("usage: cluster --workers N -- SCRIPT [ARGS...]\n");
  process.exit(2);
}

cluster.schedulingPolicy = cluster.SCHED_RR;
cluster.setupPrimary({
  exec: script,
  args,
  // A gateway worker cannot start itself again with its young generation (src/cli/young-generation.ts):
  // it is given the flag here, as `tenure gateway` gives it to the child it starts.
  execArgv: script.endsWith(".ts")
    ? ["--import", "tsx"]
    : args[0] === "gateway"
      ? [`--max-semi-space-size=${GATEWAY_SEMI_SPACE_MB}`]
      : [],
});
let stopping = false;
let listening = 0;
for (let i = 0; i < workers; i++) cluster.fork();
cluster.on("listening", () => {
  if (++listening === workers) process.stderr.write(`cluster: ${workers} workers listening\n`);
});
cluster.on("exit", (worker, code, signal) => {
  if (!stopping) {
    process.stderr.write(`cluster: worker ${worker.process.pid} exited (${signal ?? code}); stopping\n`);
    stop(1);
  } else if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(process.exitCode ?? 0);
});

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  const alive = Object.values(cluster.workers ?? {});
  if (alive.length === 0) process.exit(code);
  for (const worker of alive) worker?.process.kill("SIGTERM");
}
for (const signal of ["SIGTERM", "SIGINT"] as const) process.once(signal, () => stop(0));
