import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as delay } from "node:timers/promises";

/** A server running as a child process of the bench, listening on 127.0.0.1. */
export interface ChildServer {
  name: string;
  pid: number;
  url: string;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
  /** The last few KiB the child wrote to stderr, for error messages. */
  stderrTail(): string;
}

export interface ChildServerOptions {
  name: string;
  /** The program to run: `node` (this one) unless given, such as nginx. */
  command?: string;
  /** Arguments to the program; `{port}` in any of them is replaced by the chosen port. */
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Where the child's stdout (its request log) goes; discarded when omitted. */
  stdoutFile?: string;
  readyTimeoutMs?: number;
  /** Called with the chosen port before the start, to write a configuration file that names it. */
  beforeStart?: (port: number) => void;
}

const STDERR_TAIL_BYTES = 8 * 1024;

/** Asks the kernel for a free port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}

/**
 * Starts `node ARGS` (or `command ARGS`) on a free port and waits until its /healthz answers 200: polling, bounded
 * by `readyTimeoutMs`, and failing early if the child exits.
 */
export async function startChildServer(options: ChildServerOptions): Promise<ChildServer> {
  const port = await freePort();
  options.beforeStart?.(port);
  const args = options.args.map((a) => a.replaceAll("{port}", String(port)));
  const stdout = options.stdoutFile ? openSync(options.stdoutFile, "a") : "ignore";
  const child = spawn(options.command ?? process.execPath, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", stdout, "pipe"],
  });
  // The child holds its own copy of the descriptor.
  if (typeof stdout === "number") closeSync(stdout);
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES);
  });
  const server: ChildServer = {
    name: options.name,
    pid: child.pid ?? 0,
    url: `http://127.0.0.1:${port}`,
    stop: (graceMs = 15_000) => stopProcess(child, graceMs),
    stderrTail: () => stderr,
  };
  try {
    await waitForHealth(server, child, options.readyTimeoutMs ?? 30_000);
  } catch (error) {
    await server.stop(2_000);
    throw error;
  }
  return server;
}

async function waitForHealth(server: ChildServer, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${server.name} exited before it was ready:\n${server.stderrTail()}`);
    }
    try {
      const response = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet: poll again.
    }
    await delay(50);
  }
  throw new Error(`${server.name} was not ready within ${timeoutMs} ms:\n${server.stderrTail()}`);
}

/** SIGTERM, then SIGKILL if `child` has not exited within `graceMs`; resolves once it has exited. */
export async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
