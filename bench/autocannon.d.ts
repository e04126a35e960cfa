/**
 * The part of autocannon 9's programmatic API the benchmarks use. autocannon ships no types and
 * @types/autocannon is not a dependency, so this declares only what bench/ calls.
 */
declare module "autocannon" {
  import type { EventEmitter } from "node:events";

  function autocannon(
    options: autocannon.Options,
    callback: (error: Error | null, result: autocannon.Result) => void,
  ): autocannon.Instance;

  namespace autocannon {
    interface RequestParams {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    }

    interface Request extends RequestParams {
      setupRequest?: (request: RequestParams, context: Record<string, unknown>) => RequestParams;
    }

    interface Options {
      url: string;
      connections?: number;
      pipelining?: number;
      /** Seconds to run; ignored when `amount` is set. */
      duration?: number;
      /** Total requests to send, split over the connections. */
      amount?: number;
      timeout?: number;
      /** Requests per second from all connections together: a fixed rate rather than as fast as possible. */
      overallRate?: number;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      requests?: Request[];
    }

    interface Histogram {
      p50: number;
      p99: number;
      mean: number;
      max: number;
    }

    interface Result {
      duration: number;
      errors: number;
      timeouts: number;
      non2xx: number;
      /** Responses by status class. */
      "4xx": number;
      "5xx": number;
      "2xx": number;
      statusCodeStats: Record<string, { count: number }>;
      latency: Histogram;
      requests: Histogram & { total: number };
    }

    interface Instance extends EventEmitter {
      stop(): void;
      on(event: "tick", listener: (tick: { counter: number; bytes: number }) => void): this;
      on(
        event: "response",
        listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void,
      ): this;
      on(event: "reqError", listener: (error: Error) => void): this;
      on(event: string, listener: (...args: unknown[]) => void): this;
    }
  }

  export = autocannon;
}
