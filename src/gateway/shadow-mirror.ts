import { Agent, type Dispatcher, request } from "undici";
import type { Exchange, GatewayObserver, ModelRoutes, RouteTarget } from "./exchange.js";
import { parsePointer } from "./json-pointer.js";
import { readPrediction } from "./prediction-reader.js";
import type { ShadowPair } from "./traffic-report.js";

/** Where finished pairs go: the traffic meter, which sends them in its next TrafficReport. */
export interface PairSink {
  addPairs(pairs: ShadowPair[]): void;
}

export interface ShadowMirrorOptions {
  sink: PairSink;
  /** RFC 6901 pointer to the prediction in both sides' JSON answers; `/prediction` unless told. */
  predictionPointer?: string;
  /** A mirrored request that has not fully answered after this long is abandoned; 10 s unless told. */
  timeoutMs?: number;
  /** Mirrored requests in flight at most; one more is dropped and counted, never queued. 64 unless told. */
  maxConcurrent?: number;
  /** A shadow's answer larger than this is not read for a prediction; 1 MiB unless told. */
  maxResponseBytes?: number;
  /** Pairs are handed to the sink at most this often, in one batch; 1 s unless told. */
  flushIntervalMs?: number;
  /** The dispatcher for mirrored requests; a keep-alive Agent of the mirror's own unless given. */
  dispatcher?: Dispatcher;
  clock?: () => number;
  /** Told of a mirrored request that failed, for the gateway's log; never throws back. */
  onError?: (shadow: RouteTarget, requestId: string, error: unknown) => void;
}

/** What the mirror did since it started, for /healthz and tests. */
export interface ShadowMirrorStats {
  mirrored: number;
  /** Dropped because `maxConcurrent` mirrored requests were already in flight. */
  dropped_busy: number;
  /** Not mirrored: the request's body was over `--shadow-max-body` (the traffic meter counts these per deployment). */
  skipped_oversize: number;
  /** Not mirrored: the gateway kept no copy of the request (outside `--shadow-sample`). */
  sampled_out: number;
  /** Shadows that refused, reset, or passed the timeout: their pair carries status 0. */
  failed: number;
  pairs: number;
  in_flight: number;
}

const DEFAULTS = {
  predictionPointer: "/prediction",
  timeoutMs: 10_000,
  maxConcurrent: 64,
  maxResponseBytes: 1024 * 1024,
  flushIntervalMs: 1000,
};

/**
 * Hop-by-hop and framing headers the mirror sets itself: the shadow has its own host, and undici
 * frames the body it is given (a stale Content-Length or Transfer-Encoding would corrupt it).
 */
const NOT_COPIED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "expect",
  "tenure-shadow",
  "x-request-id",
]);

/**
 * A GatewayObserver that sends each answered request again to every shadow of its model, after
 * the user has had their answer, and pairs the two predictions. The user's request never waits
 * for it: answered() starts the copies and returns; a busy mirror drops copies (counted) rather
 * than queueing them; each copy has its own timeout.
 */
export class ShadowMirror implements GatewayObserver {
  readonly #options: Required<Omit<ShadowMirrorOptions, "dispatcher" | "onError">> &
    Pick<ShadowMirrorOptions, "onError">;
  readonly #pointer: string[];
  readonly #dispatcher: Dispatcher;
  readonly #ownsDispatcher: boolean;
  readonly #pending = new Set<Promise<void>>();
  readonly #shutdown = new AbortController();
  #buffer: ShadowPair[] = [];
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #stats: ShadowMirrorStats = {
    mirrored: 0,
    dropped_busy: 0,
    skipped_oversize: 0,
    sampled_out: 0,
    failed: 0,
    pairs: 0,
    in_flight: 0,
  };

  constructor(options: ShadowMirrorOptions) {
    this.#options = {
      ...DEFAULTS,
      clock: Date.now,
      ...withoutUndefined(options),
      sink: options.sink,
    };
    this.#pointer = parsePointer(this.#options.predictionPointer);
    this.#ownsDispatcher = options.dispatcher === undefined;
    this.#dispatcher =
      options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: this.#options.maxConcurrent });
  }

  answered(exchange: Exchange, routes: ModelRoutes): void {
    if (this.#closed || routes.shadows.length === 0) return;
    if (exchange.request_body_oversize) {
      this.#stats.skipped_oversize += routes.shadows.length;
      return;
    }
    // The gateway samples (`--shadow-sample`): a request it kept no copy of is not mirrored.
    if (exchange.request_body === null) {
      this.#stats.sampled_out += routes.shadows.length;
      return;
    }
    for (const shadow of routes.shadows) {
      if (this.#stats.in_flight >= this.#options.maxConcurrent) {
        this.#stats.dropped_busy++;
        continue;
      }
      this.#stats.in_flight++;
      this.#stats.mirrored++;
      const work = this.#mirror(exchange, shadow)
        .then((pair) => this.#add(pair))
        .catch((error: unknown) => this.#options.onError?.(shadow, exchange.request_id, error))
        .finally(() => {
          this.#stats.in_flight--;
          this.#pending.delete(work);
        });
      this.#pending.add(work);
    }
  }

  ghost(): void {}

  stats(): ShadowMirrorStats {
    return { ...this.#stats };
  }

  /** Hands the pairs gathered so far to the sink now. */
  flush(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#buffer.length === 0) return;
    const batch = this.#buffer;
    this.#buffer = [];
    this.#stats.pairs += batch.length;
    this.#options.sink.addPairs(batch);
  }

  /**
   * Stops mirroring, gives the copies in flight `graceMs` to finish, abandons the rest, hands
   * every pair to the sink and closes the agent.
   */
  async close(graceMs = 2000): Promise<void> {
    this.#closed = true;
    const grace = setTimeout(() => this.#shutdown.abort(), graceMs);
    await this.idle();
    clearTimeout(grace);
    this.flush();
    if (this.#ownsDispatcher) await this.#dispatcher.close();
  }

  /** Waits until nothing is in flight; for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #add(pair: ShadowPair): void {
    this.#buffer.push(pair);
    if (this.#timer === undefined && !this.#closed) {
      this.#timer = setTimeout(() => this.flush(), this.#options.flushIntervalMs);
      this.#timer.unref();
    }
  }

  async #mirror(exchange: Exchange, shadow: RouteTarget): Promise<ShadowPair> {
    const { clock } = this.#options;
    const started = clock();
    let status = 0;
    let body: Buffer | null = null;
    try {
      const answer = await request(joinUrl(shadow.endpoint, exchange.path), {
        method: exchange.method as Dispatcher.HttpMethod,
        headers: mirroredHeaders(exchange),
        body: exchange.request_body ?? undefined,
        dispatcher: this.#dispatcher,
        signal: AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#shutdown.signal]),
      });
      status = answer.statusCode;
      body = await readBounded(answer.body, this.#options.maxResponseBytes);
    } catch (error) {
      // No whole answer (refused, reset, or past the timeout, headers or not): status 0.
      status = 0;
      body = null;
      this.#stats.failed++;
      this.#options.onError?.(shadow, exchange.request_id, error);
    }
    const latency = Math.max(0, clock() - started);
    return {
      request_id: exchange.request_id,
      primary_id: exchange.target.deployment_id,
      shadow_id: shadow.deployment_id,
      at: exchange.started_at,
      primary_prediction: this.#prediction(exchange.response_body),
      shadow_prediction: this.#prediction(body),
      primary_status: exchange.status,
      shadow_status: status,
      primary_latency_ms: exchange.latency_ms,
      shadow_latency_ms: latency,
    };
  }

  #prediction(body: Buffer | null): ShadowPair["primary_prediction"] {
    return readPrediction(body, this.#pointer);
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `{endpoint}/{rest}`: the path below the model appended to the endpoint, its own path kept. */
function joinUrl(endpoint: string, path: string): string {
  return endpoint.replace(/\/+$/, "") + (path.startsWith("/") ? path : `/${path}`);
}

function mirroredHeaders(exchange: Exchange): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(exchange.request_headers)) {
    if (!NOT_COPIED.has(name.toLowerCase())) headers[name] = value;
  }
  headers["tenure-shadow"] = "1";
  headers["x-request-id"] = exchange.request_id;
  return headers;
}

/** The whole body, or null (and the rest discarded) once it passes `limit` bytes. */
async function readBounded(body: Dispatcher.ResponseData["body"], limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      return null;
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
