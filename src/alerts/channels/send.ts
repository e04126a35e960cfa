// undici's own fetch, not Node 20's global one (undici 6): the egress dispatcher is undici 7's,
// and a dispatcher is only sure to work with the fetch of its own version.
import { fetch, type Response } from "undici";
import { retryAfterMs } from "../../core/retry-after.js";
import { defaultEgress, type EgressPolicy, isEgressRefused } from "../../egress-policy.js";
import { VERSION } from "../../version.js";
import type { OutboundRequest } from "../notification.js";

/** How one attempt ended; the dispatcher records it and decides whether and when to try again. */
export interface SendResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  /** True when another attempt may succeed: 408, 429, 5xx, a network error or a timeout. */
  retry: boolean;
  /** What the receiver asked for in Retry-After, in milliseconds from now. */
  retry_after_ms: number | null;
  duration_ms: number;
}

export interface SendOptions {
  /** Covers the whole exchange, the response body included. */
  timeoutMs: number;
  /** Epoch milliseconds: times the attempt and turns a Retry-After date into a delay. */
  now: () => number;
  /** Where the request may connect; strict (no private address) when absent. */
  egress?: EgressPolicy;
}

const ERROR_TEXT_MAX = 500;
// A body is read to its end so the connection can be reused, but not without bound.
const DRAIN_MAX_BYTES = 1024 * 1024;

/** POSTs a channel's request once. Never throws: every outcome is a SendResult. */
export async function sendRequest(request: OutboundRequest, options: SendOptions): Promise<SendResult> {
  const started = options.now();
  const finish = (result: Omit<SendResult, "duration_ms">): SendResult => ({
    ...result,
    duration_ms: Math.max(0, options.now() - started),
  });
  if (!URL.canParse(request.url)) {
    return finish({ ok: false, status: null, error: "invalid URL", retry: false, retry_after_ms: null });
  }
  let response: Response;
  try {
    response = await fetch(request.url, {
      method: "POST",
      headers: { "user-agent": `Tenure/${VERSION}`, ...request.headers },
      body: request.body,
      // Following a 301/302 would turn the POST into a GET and drop the body (Fetch standard);
      // a moved endpoint is a configuration error to report, not to guess through.
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs),
      dispatcher: (options.egress ?? defaultEgress()).dispatcher(),
    });
  } catch (error) {
    const message = failureMessage(error, options.timeoutMs);
    // A refused address is the channel's configuration, which another attempt will not change.
    const retry = !isEgressRefused(error);
    return finish({ ok: false, status: null, error: message, retry, retry_after_ms: null });
  }
  const text = await readCapped(response);
  const status = response.status;
  if (status >= 200 && status < 300) {
    return finish({ ok: true, status, error: null, retry: false, retry_after_ms: null });
  }
  // 408 and 429 say "not now"; any other 4xx says the request itself is wrong (PagerDuty's 400
  // invalid event, a revoked Slack webhook's 404), and sending it again cannot help.
  const retry = status === 408 || status === 429 || status >= 500;
  const retryAfter = retry ? retryAfterMs(response.headers.get("retry-after"), options.now()) : null;
  return finish({ ok: false, status, error: errorText(response, text), retry, retry_after_ms: retryAfter });
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      if (text.length < ERROR_TEXT_MAX) text += decoder.decode(value, { stream: true });
      if (bytes > DRAIN_MAX_BYTES) {
        await reader.cancel();
        break;
      }
    }
  } catch {
    // A body cut short by the timeout or the peer: the status already says how the attempt ended.
  }
  return text;
}

function errorText(response: Response, body: string): string {
  const location = response.headers.get("location");
  const detail = location !== null ? `redirected to ${location}` : body.replace(/\s+/g, " ").trim();
  const text = detail ? `HTTP ${response.status}: ${detail}` : `HTTP ${response.status}`;
  return text.length > ERROR_TEXT_MAX ? `${text.slice(0, ERROR_TEXT_MAX - 1)}…` : text;
}

function failureMessage(error: unknown, timeoutMs: number): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === "TimeoutError") return `timed out after ${timeoutMs} ms`;
  // undici says only "fetch failed"; the cause names it (ECONNREFUSED, ENOTFOUND, a TLS error).
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`.slice(0, ERROR_TEXT_MAX);
}
