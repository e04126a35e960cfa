/**
 * Runs wrk (Debian's `wrk`) against one server, one thread, the script bench/lib/wrk-load.lua:
 * saturated (as fast as the connections go) or at a fixed rate. wrk is the gateway benchmark's
 * load generator because it costs less CPU per request than autocannon, which matters on a
 * 2-core machine where the load generator, the proxy and the upstream share the cores
 * (BENCHMARKS.md, "Gateway").
 */
import { execFile, execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("./wrk-load.lua", import.meta.url));

export interface WrkOptions {
  /** The full URL to POST to. */
  url: string;
  connections: number;
  seconds: number;
  /** Requests per second over all connections; omitted: saturated. */
  rate?: number;
}

export interface WrkResult {
  requests: number;
  /** Responses with status ≥ 400, and socket errors and timeouts. */
  non2xx: number;
  errors: number;
  seconds: number;
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/** Whether a program is on the PATH. */
export function onPath(program: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${program}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function runWrk(options: WrkOptions): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    "--timeout",
    "30s",
    "-s",
    SCRIPT,
    options.url,
  ];
  const env = {
    ...process.env,
    TENURE_WRK_RATE: String(options.rate ?? 0),
    TENURE_WRK_CONNECTIONS: String(options.connections),
  };
  return new Promise((resolve, reject) => {
    execFile("wrk", args, { env, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`wrk failed: ${error.message}\n${stderr}`));
      const line = stdout
        .split("\n")
        .reverse()
        .find((l) => l.startsWith("{"));
      if (!line) return reject(new Error(`wrk printed no summary:\n${stdout}\n${stderr}`));
      const raw = JSON.parse(line) as {
        requests: number;
        duration_us: number;
        p50_us: number;
        p99_us: number;
        max_us: number;
        non2xx: number;
        errors: number;
      };
      const seconds = raw.duration_us / 1e6;
      resolve({
        requests: raw.requests,
        non2xx: raw.non2xx,
        errors: raw.errors,
        seconds,
        req_per_s: (raw.requests - raw.non2xx - raw.errors) / seconds,
        p50_ms: raw.p50_us / 1000,
        p99_ms: raw.p99_us / 1000,
        max_ms: raw.max_us / 1000,
      });
    });
  });
}
