// undici's own fetch, not Node 20's global one (undici 6): the egress dispatcher is undici 7's,
// and a dispatcher is only sure to work with the fetch of its own version.
import { fetch, type Response } from "undici";
import { backoffMs } from "../alerts/dispatcher.js";
import { headerSecrets, redactSecrets } from "../core/redact-secrets.js";
import { retryAfterMs } from "../core/retry-after.js";
import { defaultEgress, type EgressPolicy, isEgressRefused } from "../egress-policy.js";
import { VERSION } from "../version.js";

/**
 * The one way the syncs call the systems they read (MLflow, SageMaker's endpoint when given,
 * Kubernetes): every call has a timeout, 408, 429, 5xx and network errors are retried with
 * exponential backoff and full jitter, a Retry-After is honoured, and no message ever carries the
 * request's headers, where the token is, even where a server echoes them in its answer.
 */
export interface OutboundOptions {
  /** Per attempt, the response body included. */
  timeoutMs?: number;
  /** Attempts in all, the first included. */
  attempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the call fails with the server's answer. */
  maxRetryAfterMs?: number;
  /** Told before each wait, for progress lines and tests. */
  onRetry?: (retry: { attempt: number; delay_ms: number; reason: string }) => void;
  /** Stops waiting and fails the call. */
  signal?: AbortSignal;
  /** Where waits happen; tests pass one that records and does not wait. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  /**
   * Where calls may connect, redirects included (each hop opens its connection through the same
   * dispatcher); strict (no private address) when absent.
   */
  egress?: EgressPolicy;
}

export interface OutboundRequest {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  url: string | URL;
  headers?: Record<string, string>;
  /** Sent as JSON when not a string. */
  body?: unknown;
}

/** A call that did not succeed: the status (null when no answer came), and the server's words. */
export class OutboundError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    /** The answer's body, parsed as JSON when it was JSON, at most 4 KiB of text otherwise. */
    readonly body: unknown,
    readonly attempts: number,
  ) {
    super(message);
    this.name = "OutboundError";
  }
}

export const OUTBOUND_DEFAULTS = {
  timeoutMs: 10_000,
  attempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 120_000,
} as const;

const BODY_TEXT_MAX = 4096;

/**
 * Sends a request and returns its JSON answer (undefined for an empty body), retrying what
 * another attempt may fix. Throws an OutboundError naming the URL without its query (where some
 * APIs take keys) and the last status or network error.
 */
export async function requestJson<T = unknown>(
  request: OutboundRequest,
  options: OutboundOptions = {},
): Promise<T> {
  const settings = { ...OUTBOUND_DEFAULTS, ...definedOf(options) };
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const url = new URL(request.url);
  const shown = `${request.method ?? "GET"} ${url.origin}${url.pathname}`;
  for (let attempt = 1; ; attempt++) {
    const outcome = await attemptOnce(request, url, settings, options.signal, now);
    if (outcome.ok) return outcome.body as T;
    const last = attempt >= settings.attempts || !outcome.retry || options.signal?.aborted === true;
    const retryAfter = outcome.retryAfterMs;
    if (last || (retryAfter !== null && retryAfter > settings.maxRetryAfterMs)) {
      throw new OutboundError(`${shown} failed: ${outcome.reason}`, outcome.status, outcome.body, attempt);
    }
    const backoff = backoffMs(
      attempt,
      {
        max_attempts: settings.attempts,
        base_delay_ms: settings.baseDelayMs,
        max_delay_ms: settings.maxDelayMs,
      },
      random(),
    );
    const delay = Math.max(backoff, retryAfter ?? 0);
    options.onRetry?.({ attempt, delay_ms: delay, reason: outcome.reason });
    await sleep(delay, options.signal);
  }
}

type Attempt =
  | { ok: true; body: unknown }
  | {
      ok: false;
      retry: boolean;
      status: number | null;
      body: unknown;
      reason: string;
      retryAfterMs: number | null;
    };

async function attemptOnce(
  request: OutboundRequest,
  url: URL,
  settings: { timeoutMs: number; egress?: EgressPolicy },
  signal: AbortSignal | undefined,
  now: () => number,
): Promise<Attempt> {
  const timeoutMs = settings.timeoutMs;
  const hasBody = request.body !== undefined;
  const timeout = AbortSignal.timeout(timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, {
      method: request.method ?? "GET",
      headers: {
        accept: "application/json",
        "user-agent": `Tenure/${VERSION}`,
        ...(hasBody ? { "content-type": "application/json" } : {}),
        ...request.headers,
      },
      body: !hasBody
        ? undefined
        : typeof request.body === "string"
          ? request.body
          : JSON.stringify(request.body),
      signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      dispatcher: (settings.egress ?? defaultEgress()).dispatcher(),
    });
    // A server may echo the request, its Authorization header included, in what it answers; the
    // answer becomes error messages, logs and API problems, so the credentials go first.
    text = redactSecrets(await response.text(), response.ok ? [] : headerSecrets(request.headers ?? {}));
  } catch (error) {
    return {
      ok: false,
      // A refused address is configuration, which another attempt will not change.
      retry: !isEgressRefused(error),
      status: null,
      body: null,
      reason: networkReason(error, timeoutMs),
      retryAfterMs: null,
    };
  }
  const body = parseBody(text);
  if (response.ok) {
    if (text.trim() !== "" && body === undefined) {
      return {
        ok: false,
        retry: false,
        status: response.status,
        body: text,
        reason: "the answer is not JSON",
        retryAfterMs: null,
      };
    }
    return { ok: true, body };
  }
  const status = response.status;
  const retry = status === 408 || status === 429 || status >= 500;
  return {
    ok: false,
    retry,
    status,
    body: body ?? text.slice(0, BODY_TEXT_MAX),
    reason: `HTTP ${status}${detailOf(body, text)}`,
    retryAfterMs: retry ? retryAfterMs(response.headers.get("retry-after"), now()) : null,
  };
}

function parseBody(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The server's own words when it gave some: MLflow's `message`, a problem's `detail`, AWS's `message`. */
function detailOf(body: unknown, text: string): string {
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    for (const key of ["message", "detail", "Message", "error_code"]) {
      if (typeof b[key] === "string") return `: ${(b[key] as string).slice(0, 300)}`;
    }
  }
  const plain = text.replace(/\s+/g, " ").trim().slice(0, 300);
  return plain ? `: ${plain}` : "";
}

function networkReason(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "TimeoutError") return `timed out after ${timeoutMs} ms`;
  if (error.name === "AbortError") return "cancelled";
  // undici says only "fetch failed"; the cause names it (ECONNREFUSED, ENOTFOUND, a TLS error).
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

/** Waits `ms`, or less when `signal` stops first. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", done);
      clearTimeout(timer);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

function definedOf<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
