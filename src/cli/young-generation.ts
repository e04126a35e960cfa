import { spawn } from "node:child_process";
import cluster from "node:cluster";
import { constants } from "node:os";

/**
 * The semi-space, in MiB, a `tenure gateway` process runs with: V8's default is 16 MiB. A proxy
 * allocates some 20 KB a request that lives only while the request is in flight; with 16 MiB a
 * scavenge comes every few hundred requests and copies every request in flight, those in flight
 * across two scavenges are promoted, and the old space they fill is then collected by full
 * collections of 10-50 ms: the gateway's p99. V8 grows the young generation up to this size only
 * while much of it survives, so an idle gateway stays small (BENCHMARKS.md, gateway session 12).
 */
export const GATEWAY_SEMI_SPACE_MB = 64;

const SEMI_SPACE_FLAG = /^--max[-_]semi[-_]space[-_]size\b/;

/** Set in the child this module starts: it stops when its parent is gone. */
const SUPERVISED = "TENURE_RESTARTED_FOR_HEAP";

/** Whether the semi-space was chosen when this process started: on its command line or in NODE_OPTIONS. */
export function semiSpaceChosen(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? "").split(/\s+/)].some((flag) => SEMI_SPACE_FLAG.test(flag));
}

/**
 * Runs this same command again in a child process whose V8 has a semi-space of `mb` MiB, and
 * resolves to the child's exit code; resolves to undefined when this process is to carry on
 * itself: its semi-space was chosen at start (by whoever started it, or because it is that
 * child), or it is a node:cluster worker, which must listen on its primary's socket itself (its
 * primary passes the flag in `execArgv`). V8 sizes the young generation at start-up only:
 * `v8.setFlagsFromString` comes too late for it, unlike the heap's growth (heap.ts).
 *
 * The child has a process group of its own, so that a terminal's Ctrl-C reaches it once, from
 * here: SIGINT and SIGTERM are passed on, SIGHUP as SIGTERM; if this process dies without passing
 * anything on (SIGKILL), the child sees its IPC channel close and stops as on SIGTERM.
 */
export function rerunWithSemiSpace(mb: number, env: NodeJS.ProcessEnv): Promise<number | undefined> {
  if (cluster.isWorker || semiSpaceChosen(process.execArgv, env.NODE_OPTIONS)) {
    return Promise.resolve(undefined);
  }
  const child = spawn(
    process.execPath,
    [`--max-semi-space-size=${mb}`, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: ["inherit", "inherit", "inherit", "ipc"],
      detached: true,
      env: { ...env, [SUPERVISED]: "1" },
    },
  );
  const relay: Array<[NodeJS.Signals, () => void]> = [
    ["SIGINT", () => child.kill("SIGINT")],
    ["SIGTERM", () => child.kill("SIGTERM")],
    ["SIGHUP", () => child.kill("SIGTERM")],
  ];
  for (const [signal, pass] of relay) process.on(signal, pass);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      for (const [name, pass] of relay) process.off(name, pass);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

/**
 * In the child `rerunWithSemiSpace` started, calls `stop` when the parent is gone; elsewhere does
 * nothing. The IPC channel does not keep the child alive once `stop` has let everything else go.
 */
export function onParentGone(stop: () => void, env: NodeJS.ProcessEnv): void {
  if (env[SUPERVISED] !== "1" || !process.channel) return;
  process.channel.unref();
  process.once("disconnect", stop);
}
