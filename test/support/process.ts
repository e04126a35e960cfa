import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";

/** The CLI as users run it: the bin script, which loads the built `dist/`. */
export const TENURE_BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../bin/tenure.js");

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Where the command runs; always a temporary folder, so nothing is written into the repo. */
  cwd: string;
  /** Added to an environment with every TENURE_* variable of the test process removed. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

/** Settings of a developer's shell that change what the CLI prints: never inherited by a test. */
const OUTPUT_SETTINGS = new Set(["NO_COLOR", "FORCE_COLOR"]);

/**
 * The test process's environment without TENURE_* variables, NO_COLOR or FORCE_COLOR, so a
 * developer's settings never leak in. Private egress is allowed (every fake receiver listens on
 * 127.0.0.1) unless `extra` sets TENURE_ALLOW_PRIVATE_EGRESS itself.
 */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { TENURE_ALLOW_PRIVATE_EGRESS: "1" };
  for (const [key, value] of Object.entries(process.env))
    if (!key.startsWith("TENURE_") && !OUTPUT_SETTINGS.has(key)) env[key] = value;
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

/** Runs `node bin/tenure.js ...args` to its end; resolves with its exit code and output, never rejects on a non-zero exit. */
export function runTenure(args: string[], options: RunOptions): Promise<RunResult> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [TENURE_BIN, ...args],
      { cwd: options.cwd, env: cleanEnv(options.env), timeout: options.timeoutMs ?? 20_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          fail(new Error(`tenure ${args.join(" ")} did not finish: ${error.message}\n${stderr}`));
          return;
        }
        done({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/** The non-empty lines of a command's output. */
export function lines(text: string): string[] {
  return text.split("\n").filter((line) => line.trim() !== "");
}

/** A temporary folder for one test or suite, removed by `remove`. */
export function tempDir(): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), "tenure-e2e-"));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

let databasesMade = 0;

/** A new SQLite database in `cwd`, made by `tenure init` as a user makes one; its path. */
export async function initDatabase(cwd: string): Promise<string> {
  const file = join(cwd, `tenure-${Date.now()}-${++databasesMade}.db`);
  const init = await runTenure(["init", "--database", file], { cwd });
  expect(init.code, init.stderr).toBe(0);
  return file;
}

/** A port that was free a moment ago: listen on port 0, read the port the OS chose, close. */
export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function pollUntil<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
  intervalMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((next) => setTimeout(next, intervalMs));
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line of stdout, written or still to come, that satisfies `match`; no polling. */
  waitForStdoutLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** The "tenure is serving" line, once written: the server answers /healthz before it writes it. */
  startupLine(): Promise<string>;
  /** Sends SIGTERM if it is still running and waits for it to exit. */
  stop(): Promise<Exit>;
}

/**
 * Starts `tenure serve` on a free port and resolves once GET /healthz answers 200, polling;
 * fails with the process's output if it exits first.
 */
export async function startServe(options: {
  cwd: string;
  database: string;
  env?: Record<string, string | undefined>;
  extraArgs?: string[];
  /** How the free port is given: `--port` (default) or TENURE_PORT. */
  portVia?: "flag" | "environment";
  /** The server serves HTTPS (its flags or environment say so) with a certificate this CA signed. */
  tls?: { ca: Buffer };
}): Promise<ServeProcess> {
  const port = await freePort();
  const viaEnvironment = options.portVia === "environment";
  const child = spawn(
    process.execPath,
    [
      TENURE_BIN,
      "serve",
      "--database",
      options.database,
      ...(viaEnvironment ? [] : ["--port", String(port)]),
      ...(options.extraArgs ?? []),
    ],
    {
      cwd: options.cwd,
      env: cleanEnv({ ...options.env, ...(viaEnvironment ? { TENURE_PORT: String(port) } : {}) }),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  const lineWaiters: Array<{ match: (line: string) => boolean; done: (line: string) => void }> = [];
  let partial = "";
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    stdout += chunk;
    partial += chunk;
    const complete = partial.split("\n");
    partial = complete.pop() ?? "";
    for (const line of complete) {
      for (const waiter of [...lineWaiters]) {
        if (waiter.match(line)) {
          lineWaiters.splice(lineWaiters.indexOf(waiter), 1);
          waiter.done(line);
        }
      }
    }
  });
  child.stderr?.on("data", (chunk: string) => {
    stderr += chunk;
  });
  let running = true;
  const exited = new Promise<Exit>((done) => {
    child.on("exit", (code, signal) => {
      running = false;
      done({ code, signal });
    });
  });
  const url = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;
  const serve: ServeProcess = {
    url,
    port,
    child,
    exited,
    stdout: () => stdout,
    stderr: () => stderr,
    waitForStdoutLine: (match, timeoutMs = 10_000) => {
      const written = stdout
        .slice(0, stdout.length - partial.length)
        .split("\n")
        .slice(0, -1)
        .find(match);
      if (written !== undefined) return Promise.resolve(written);
      return new Promise((done, fail) => {
        const timer = setTimeout(
          () => fail(new Error("timed out waiting for a line of server output")),
          timeoutMs,
        );
        lineWaiters.push({
          match,
          done: (line) => {
            clearTimeout(timer);
            done(line);
          },
        });
      });
    },
    startupLine: () => serve.waitForStdoutLine((line) => line.includes('"tenure is serving"'), 15_000),
    stop: async () => {
      if (running) child.kill("SIGTERM");
      return exited;
    },
  };
  try {
    await pollUntil("GET /healthz to answer 200", async () => {
      if (!running) {
        throw new Error(`tenure serve exited before it was healthy:\n${stderr}\n${stdout}`);
      }
      try {
        return (await healthStatus(`${url}/healthz`, options.tls?.ca)) === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    });
  } catch (error) {
    await serve.stop();
    throw error;
  }
  return serve;
}

/** The status of one GET, over HTTPS trusting only `ca` when given one. */
async function healthStatus(url: string, ca: Buffer | undefined): Promise<number> {
  if (!ca) {
    const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status;
  }
  return new Promise((done, fail) => {
    const request = https.get(url, { ca, agent: false, timeout: 1000 }, (response) => {
      response.resume();
      response.on("end", () => done(response.statusCode ?? 0));
    });
    request.on("timeout", () => request.destroy(new Error("timed out")));
    request.on("error", fail);
  });
}

/** How one request ended, as seen from the client. */
export type RequestOutcome =
  | { kind: "response"; status: number; body: string }
  | { kind: "error"; code: string; responseStarted: boolean };

/**
 * One GET on a connection of its own (no keep-alive), telling apart an answer, a failure before
 * any byte of an answer (refused or reset before the request was read) and one mid-response.
 */
export function getOnNewConnection(
  url: string,
  headers: Record<string, string> = {},
  onResponseStart: () => void = () => {},
): Promise<RequestOutcome> {
  return new Promise((done) => {
    let responseStarted = false;
    const request = http.get(url, { agent: false, headers }, (response) => {
      responseStarted = true;
      onResponseStart();
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => {
        if (response.complete) done({ kind: "response", status: response.statusCode ?? 0, body });
        else done({ kind: "error", code: "INCOMPLETE", responseStarted });
      });
      response.on("error", (error: NodeJS.ErrnoException) =>
        done({ kind: "error", code: error.code ?? error.message, responseStarted }),
      );
    });
    request.on("error", (error: NodeJS.ErrnoException) =>
      done({ kind: "error", code: error.code ?? error.message, responseStarted }),
    );
  });
}

/** The id in `deployed ... : deployment 12, data age 60d`. */
export function deploymentIdIn(output: string): number {
  const match = /deployment (\d+)/.exec(output);
  if (!match?.[1]) throw new Error(`no deployment id in: ${output}`);
  return Number(match[1]);
}

/** A table's rows split into cells (columns are two or more spaces apart). */
export function cells(output: string): string[][] {
  return lines(output).map((line) => line.trim().split(/\s{2,}/));
}

/** Asserts a failure: the exit code, nothing on stdout, and exactly one line on stderr. */
export function expectOneLineFailure(result: RunResult, code: number): string {
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code, stdout: "" });
  expect(lines(result.stderr), result.stderr).toHaveLength(1);
  return result.stderr.trim();
}

/** Resolves once nothing listens on the port any more (a connection is refused), polling. */
export function waitUntilRefused(port: number, timeoutMs = 10_000): Promise<true> {
  return pollUntil(
    `port ${port} to refuse connections`,
    () =>
      new Promise<true | undefined>((done) => {
        const socket = connect(port, "127.0.0.1");
        socket.once("connect", () => {
          socket.destroy();
          done(undefined);
        });
        socket.once("error", (error: NodeJS.ErrnoException) =>
          done(error.code === "ECONNREFUSED" ? true : undefined),
        );
      }),
    timeoutMs,
  );
}

/**
 * POSTs JSON in two steps: the headers with `Expect: 100-continue`, then, once the server has
 * taken the request and answered 100 Continue, `beforeBody` runs and the body follows.
 */
export function postAfterContinue(
  url: string,
  headers: Record<string, string>,
  body: unknown,
  beforeBody: () => Promise<void>,
): Promise<RequestOutcome> {
  const payload = JSON.stringify(body);
  return new Promise((done) => {
    let responseStarted = false;
    const request = http.request(url, {
      method: "POST",
      agent: false,
      headers: {
        ...headers,
        "content-type": "application/json",
        "content-length": String(Buffer.byteLength(payload)),
        expect: "100-continue",
      },
    });
    request.once("continue", () => {
      beforeBody().then(
        () => request.end(payload),
        (error: unknown) => {
          request.destroy();
          done({ kind: "error", code: String(error), responseStarted });
        },
      );
    });
    request.on("response", (response) => {
      responseStarted = true;
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        text += chunk;
      });
      response.on("end", () => done({ kind: "response", status: response.statusCode ?? 0, body: text }));
      response.on("error", (error: NodeJS.ErrnoException) =>
        done({ kind: "error", code: error.code ?? error.message, responseStarted }),
      );
    });
    request.on("error", (error: NodeJS.ErrnoException) =>
      done({ kind: "error", code: error.code ?? error.message, responseStarted }),
    );
    request.flushHeaders();
  });
}
