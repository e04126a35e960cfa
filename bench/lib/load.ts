import autocannon from "autocannon";
import { percentileOfSorted } from "./stats.js";

export interface LoadRequest {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  /** Called once per request for a fresh body; a GET sends none. */
  nextBody?: () => string;
}

export interface LoadOptions {
  label: string;
  /** Base URL: http://127.0.0.1:PORT */
  url: string;
  connections: number;
  request: LoadRequest;
  /** Send exactly this many requests... */
  amount?: number;
  /** ...or run for this many seconds. */
  seconds?: number;
  /** Print progress lines (every second); off for warm-ups. */
  progress?: boolean;
}

export interface LoadResult {
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  status_codes: Record<string, number>;
  seconds: number;
  /** Successful (2xx) responses per second of wall time. */
  req_per_s: number;
  /** Latency of 2xx responses, from the bench's side of the socket, in milliseconds. */
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * Runs autocannon in this process against one server. Latencies are kept at full resolution
 * here (autocannon's own histogram rounds to whole milliseconds, too coarse for a floor that
 * answers in well under one).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { request } = options;
  const latencies = new LatencyLog();
  let done = 0;
  let lastPrinted = 0;
  const started = process.hrtime.bigint();
  let lastResponse = started;
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;

  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        ...(options.amount === undefined ? { duration: options.seconds ?? 10 } : { amount: options.amount }),
        timeout: 30,
        requests: [
          {
            method: request.method,
            path: request.path,
            headers: request.headers,
            ...(request.nextBody
              ? {
                  setupRequest: (params) => {
                    return { ...params, body: request.nextBody?.() ?? "" };
                  },
                }
              : {}),
          },
        ],
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.add(responseTime);
      lastResponse = process.hrtime.bigint();
    });
    instance.on("tick", ({ counter }) => {
      done += counter;
      if (!options.progress) return;
      // Ticks come once a second, so the count since the last one is the rate.
      const rate = done - lastPrinted;
      lastPrinted = done;
      const total = options.amount === undefined ? "" : `/${options.amount.toLocaleString("en-US")}`;
      process.stdout.write(
        `    ${options.label.padEnd(34)} ${elapsed().toFixed(0).padStart(4)} s  ` +
          `${done.toLocaleString("en-US").padStart(8)}${total}  ${Math.round(rate).toLocaleString("en-US")} req/s\n`,
      );
    });
  });

  // autocannon ends a run on its next one-second sampling tick, so its own duration is rounded
  // up to whole seconds: time the run from start to the last response instead.
  const seconds = Number(lastResponse - started) / 1e9;
  const sorted = latencies.sorted();
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, stats]) => [code, stats.count]),
  );
  const ok = result["2xx"];
  return {
    requests: Object.values(statusCodes).reduce((sum, n) => sum + n, 0),
    ok,
    non2xx: result.non2xx,
    errors: result.errors,
    status_codes: statusCodes,
    seconds,
    req_per_s: ok / seconds,
    p50_ms: percentileOfSorted(sorted, 50),
    p99_ms: percentileOfSorted(sorted, 99),
    max_ms: sorted.at(-1) ?? Number.NaN,
  };
}

/** An append-only list of latencies in a growing Float64Array: no boxing per response. */
class LatencyLog {
  private values = new Float64Array(1 << 16);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }

  sorted(): Float64Array {
    return this.values.slice(0, this.length).sort();
  }
}
