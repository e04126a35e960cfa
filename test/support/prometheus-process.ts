import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { freePort, pollUntil } from "./process.js";

export const PROMETHEUS = "/usr/bin/prometheus";

/** One answer of Prometheus's HTTP API (https://prometheus.io/docs/prometheus/latest/querying/api/). */
export interface ApiAnswer<T> {
  status: "success" | "error";
  data: T;
  errorType?: string;
  error?: string;
}

export interface InstantVector {
  resultType: string;
  result: Array<{ metric: Record<string, string>; value: [number, string] }>;
}

export interface ScrapeTarget {
  health: "up" | "down" | "unknown";
  lastError: string;
  lastScrape: string;
  labels: Record<string, string>;
  scrapeUrl: string;
}

export interface PrometheusProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** GET on the HTTP API; the parsed answer, whatever its status code (400 and 422 carry an error). */
  api<T>(path: string, params?: Record<string, string | string[]>): Promise<ApiAnswer<T>>;
  /** An instant query at the time Prometheus receives it. */
  query(expr: string): Promise<ApiAnswer<InstantVector>>;
  /** Sends SIGTERM and waits for the process to exit. */
  stop(): Promise<void>;
}

export interface ScrapeJob {
  job: string;
  target: string;
  /** A bearer token Prometheus reads from a file, as a production config keeps secrets out of its YAML. */
  tokenFile?: string;
}

/**
 * Writes a configuration that scrapes `jobs` and evaluates `ruleFiles` every second: a test waits
 * seconds, not the default minute, for samples and rule results.
 */
export function writePrometheusConfig(dir: string, jobs: ScrapeJob[], ruleFiles: string[]): string {
  const path = join(dir, "prometheus.yml");
  const scrape = jobs.map((job) =>
    [
      `  - job_name: ${JSON.stringify(job.job)}`,
      "    metrics_path: /metrics",
      ...(job.tokenFile
        ? [
            "    authorization:",
            "      type: Bearer",
            `      credentials_file: ${JSON.stringify(job.tokenFile)}`,
          ]
        : []),
      "    static_configs:",
      `      - targets: [${JSON.stringify(job.target)}]`,
    ].join("\n"),
  );
  writeFileSync(
    path,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "  evaluation_interval: 1s",
      `rule_files: [${ruleFiles.map((file) => JSON.stringify(file)).join(", ")}]`,
      "scrape_configs:",
      ...scrape,
      "",
    ].join("\n"),
  );
  return path;
}

/**
 * Starts Debian's Prometheus on a free port with its data in `dir`, and resolves once its API
 * answers that it is ready, polling; fails with its log if it exits first.
 */
export async function startPrometheus(options: { dir: string; config: string }): Promise<PrometheusProcess> {
  const port = await freePort();
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${options.config}`,
      `--storage.tsdb.path=${join(options.dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { cwd: options.dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.setEncoding("utf8");
  child.stderr?.setEncoding("utf8");
  child.stdout?.on("data", (chunk: string) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk: string) => {
    output += chunk;
  });
  let running = true;
  const exited = new Promise<void>((done) => {
    child.on("exit", () => {
      running = false;
      done();
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const api = async <T>(
    path: string,
    params: Record<string, string | string[]> = {},
  ): Promise<ApiAnswer<T>> => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      for (const one of Array.isArray(value) ? value : [value]) search.append(key, one);
    }
    const response = await fetch(`${url}${path}?${search}`, { signal: AbortSignal.timeout(10_000) });
    return (await response.json()) as ApiAnswer<T>;
  };
  const prometheus: PrometheusProcess = {
    url,
    child,
    output: () => output,
    api,
    query: (expr) => api<InstantVector>("/api/v1/query", { query: expr }),
    stop: async () => {
      if (running) child.kill("SIGTERM");
      await exited;
    },
  };
  try {
    await pollUntil(
      "Prometheus to be ready",
      async () => {
        if (!running) throw new Error(`prometheus exited before it was ready:\n${output}`);
        try {
          const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
          await response.arrayBuffer();
          return response.status === 200 ? true : undefined;
        } catch {
          return undefined;
        }
      },
      30_000,
      100,
    );
  } catch (error) {
    await prometheus.stop();
    throw error;
  }
  return prometheus;
}
