import autocannon from "autocannon";
import { percentileOfSorted } from "./stats.js";

export interface SteadyLoadOptions {
  url: string;
  /** Requests per second, from all connections together. */
  rate: number;
  connections: number;
  seconds: number;
  /** Sent in turn on each connection; setupRequest may change the path and body of each. */
  requests: autocannon.Request[];
}

export interface SteadyLoadResult {
  requests: number;
  ok: number;
  /** Answers other than 2xx, socket errors and timeouts. */
  failed: number;
  status_codes: Record<string, number>;
  errors: number;
  timeouts: number;
  req_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * Sends requests at a fixed rate (autocannon's overallRate) for `seconds`, whatever the server's
 * speed: a load test of a steady state, not of a ceiling. Latencies are those of 2xx answers, as
 * measured when each answer arrived.
 */
export function steadyLoad(options: SteadyLoadOptions): Promise<SteadyLoadResult> {
  const latencies: number[] = [];
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        overallRate: options.rate,
        duration: options.seconds,
        timeout: 10,
        requests: options.requests,
      },
      (error, result) => {
        if (error) return reject(error);
        const sorted = Float64Array.from(latencies).sort();
        const statusCodes = Object.fromEntries(
          Object.entries(result.statusCodeStats).map(([code, stats]) => [code, stats.count]),
        );
        const answered = Object.values(statusCodes).reduce((sum, n) => sum + n, 0);
        resolve({
          requests: answered + result.errors,
          ok: result["2xx"],
          failed: result.non2xx + result.errors,
          status_codes: statusCodes,
          errors: result.errors,
          timeouts: result.timeouts,
          req_per_s: result["2xx"] / options.seconds,
          p50_ms: percentileOfSorted(sorted, 50),
          p99_ms: percentileOfSorted(sorted, 99),
          max_ms: sorted.at(-1) ?? Number.NaN,
        });
      },
    );
    instance.on("response", (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
}
