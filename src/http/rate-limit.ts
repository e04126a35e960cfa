import { isIPv6 } from "node:net";
import { performance } from "node:perf_hooks";
import type { FastifyReply, FastifyRequest, FastifyServerOptions, preParsingHookHandler } from "fastify";
import { RateLimitedError } from "../core/errors.js";
import { type Rate, rateWords } from "../core/rate.js";

/**
 * Every limit the API server puts on what one client can make it do: request rates per token
 * and per address, the size of a request's head, and how long a client may take to send it.
 * (Body sizes are Fastify's `bodyLimit`, set per route beside the route; rates are written and
 * parsed in src/core/rate.ts.)
 */

/**
 * Token buckets by key, refilled continuously. A bucket that has refilled to full is the same as
 * no bucket, so such buckets are dropped when the map reaches `maxKeys`; should every bucket be
 * in use (requests from more addresses than that within one refill), the oldest are dropped,
 * which forgives those clients their debt rather than growing without bound.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly rate: Rate,
    private readonly now: () => number = () => performance.now(),
    private readonly maxKeys = 100_000,
  ) {
    this.perMs = rate.count / rate.perMs;
  }

  /** Takes one request from `key`'s bucket: 0 when it may go ahead, else the ms until it may. */
  take(key: string): number {
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      if (this.buckets.size >= this.maxKeys) this.makeRoom(now);
      bucket = { tokens: this.rate.count, at: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.rate.count, bucket.tokens + (now - bucket.at) * this.perMs);
      bucket.at = now;
    }
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.perMs);
  }

  /** How many keys hold a bucket. */
  get size(): number {
    return this.buckets.size;
  }

  private makeRoom(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perMs >= this.rate.count) this.buckets.delete(key);
    }
    // A tenth at a time, so that a flood of new addresses does not sweep the map on every request.
    let excess = this.buckets.size - Math.floor(this.maxKeys * 0.9);
    for (const key of this.buckets.keys()) {
      if (excess-- <= 0) break;
      this.buckets.delete(key);
    }
  }
}

/**
 * The address a request counts against: its IPv4 address, or its IPv6 /64, since one host
 * usually holds a whole /64 and could otherwise take a fresh bucket per address. The address is
 * `request.ip`: the socket's, or, from a proxy listed in `--trust-proxy`, the one X-Forwarded-For
 * names (src/http/trusted-proxies.ts). Without that list every request without a token behind a
 * proxy shares the proxy's bucket.
 */
export function clientKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return `ip:${mapped[1]}`;
  if (!isIPv6(ip)) return `ip:${ip}`;
  return `ip:${expandIPv6(ip).slice(0, 4).join(":")}::/64`;
}

function expandIPv6(ip: string): string[] {
  const [head = "", tail] = ip.split("%")[0]?.split("::") ?? [""];
  const left = head === "" ? [] : head.split(":");
  const right = tail === undefined || tail === "" ? [] : tail.split(":");
  const zeros = Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0");
  return [...left, ...(tail === undefined ? [] : zeros), ...right].map((part) =>
    part.toLowerCase().replace(/^0+(?=.)/, ""),
  );
}

export interface RateLimitOptions {
  /** Per token id; null: none. */
  token: Rate | null;
  /** Per client address, for requests without a valid token; null: none. */
  anonymous: Rate | null;
  /** The clock buckets refill by; monotonic by default. */
  now?: () => number;
  /** Told of each request refused with 429, by the limit it was over (for /metrics). */
  onRefused?: (limit: RateLimitKind) => void;
}

/** Which limit a request counted against: its token's, or its client address's. */
export type RateLimitKind = "token" | "address";

declare module "fastify" {
  interface FastifyRequest {
    /** The bucket this request was counted against, once it has been. */
    rateLimitKey?: string;
  }
}

type Authenticate = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/**
 * Per-token rate limits (429 with `Retry-After`, RFC 6585 §4 and RFC 9110 §10.2.3): a request
 * with a valid token counts against that token, whatever address it comes from; any other
 * request against its client address. A request is counted once, where its caller becomes known.
 */
export class RateLimits {
  private readonly tokens: TokenBuckets | undefined;
  private readonly anonymous: TokenBuckets | undefined;

  constructor(private readonly options: RateLimitOptions) {
    const now = options.now ?? (() => performance.now());
    this.tokens = options.token ? new TokenBuckets(options.token, now, 10_000) : undefined;
    this.anonymous = options.anonymous ? new TokenBuckets(options.anonymous, now) : undefined;
  }

  /**
   * Wraps bearer authentication: after it, the request counts against its token; when it fails,
   * against its address (so made-up tokens are limited as requests without one are), and a
   * client over that limit gets 429 rather than 401.
   */
  guard(authenticate: Authenticate): Authenticate {
    const limits = this;
    return async function limitedAuthenticate(request, reply) {
      try {
        await authenticate(request, reply);
      } catch (error) {
        limits.count(request, reply, clientKey(request.ip));
        throw error;
      }
      const scope = request.actor?.key_scope ?? "";
      limits.count(request, reply, scope.startsWith("token:") ? scope : clientKey(request.ip));
    };
  }

  /** A preParsing hook for every route: counts what no authentication counted, by address. */
  unauthenticated(): preParsingHookHandler {
    const limits = this;
    return function limitByAddress(request, reply, payload, done): void {
      try {
        if (request.rateLimitKey === undefined) limits.count(request, reply, clientKey(request.ip));
        done(null, payload);
      } catch (error) {
        done(error as Error);
      }
    };
  }

  /** Counts the request against `key`'s bucket; throws RateLimitedError (and sets Retry-After) over it. */
  private count(request: FastifyRequest, reply: FastifyReply, key: string): void {
    if (request.rateLimitKey !== undefined) return;
    request.rateLimitKey = key;
    const forToken = key.startsWith("token:");
    const buckets = forToken ? this.tokens : this.anonymous;
    const rate = forToken ? this.options.token : this.options.anonymous;
    if (!buckets || !rate) return;
    const waitMs = buckets.take(key);
    if (waitMs === 0) return;
    // Whole seconds (delay-seconds), rounded up so that a client that waits as told gets in.
    const seconds = Math.max(1, Math.ceil(waitMs / 1_000));
    this.options.onRefused?.(forToken ? "token" : "address");
    reply.header("retry-after", String(seconds));
    throw new RateLimitedError(
      `more than ${rateWords(rate)} ${forToken ? "with this token" : "from this address without a valid token"}; retry after ${seconds} s`,
    );
  }
}

/** How big a request's head may be and how long a client may take to send it. */
export interface ConnectionLimits {
  /** The request line and headers, in bytes; larger is refused with 431. */
  maxHeaderBytes: number;
  /**
   * Time to send the request line and headers from the moment the connection (or the next
   * request on it) starts: a client that trickles them (slowloris) gets 408 and is cut off.
   */
  headersTimeoutMs: number;
  /**
   * Time to send the whole request, body included (the 64 MiB reference upload is the largest).
   * Answers are not bound by it: a long poll waits as long as it asked to.
   */
  requestTimeoutMs: number;
  /**
   * How long an idle kept-alive connection stays open: longer than the 60 s idle timeout of
   * common load balancers, so that they close first and never send on a connection this server
   * is closing.
   */
  keepAliveTimeoutMs: number;
  /** How often Node checks open connections against the two timeouts above. */
  checkIntervalMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 120_000,
  keepAliveTimeoutMs: 72_000,
  checkIntervalMs: 1_000,
};

/** Node's own server options for the limits: given to http.createServer (and https's) as is. */
export function nodeServerOptions(limits: ConnectionLimits) {
  return {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  };
}

/**
 * Fastify's options for the limits. Fastify sets the server's requestTimeout and
 * keepAliveTimeout itself after creating it (0, no limit, unless told), so they are given twice.
 */
export function connectionOptions(limits: ConnectionLimits) {
  return {
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Fastify passes these to http.createServer; its type keeps them apart from its own options.
    http: nodeServerOptions(limits),
  } satisfies FastifyServerOptions & { http: object };
}
