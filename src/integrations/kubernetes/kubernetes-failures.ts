import { ApiException } from "@kubernetes/client-node";
import { retryAfterMs } from "../../core/retry-after.js";
import { isEgressRefused } from "../../egress-policy.js";

/**
 * How a call to the Kubernetes API failed, and whether another attempt may help: the server's
 * status and its own words, a timeout, a network error, an egress refusal (configuration: no).
 */

export class KubernetesError extends Error {
  override name = "KubernetesError";
  constructor(
    message: string,
    /** The HTTP status, or null when no answer came. */
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface Failure {
  retry: boolean;
  status: number | null;
  reason: string;
  retryAfterMs: number | null;
}

export function failureOf(error: unknown, timedOut: boolean, timeoutMs: number): Failure {
  if (error instanceof ApiException) {
    const status = error.code;
    const retry = status === 408 || status === 429 || status >= 500;
    const header = (error.headers as Record<string, string | undefined>)["retry-after"] ?? null;
    return {
      retry,
      status,
      reason: `HTTP ${status}${detailOf(error.body)}`,
      retryAfterMs: retry ? retryAfterMs(header, Date.now()) : null,
    };
  }
  const name = error instanceof Error ? error.name : "";
  if (name === "AbortError" && timedOut) {
    return { retry: true, status: null, reason: `timed out after ${timeoutMs} ms`, retryAfterMs: null };
  }
  // node-fetch's FetchError: refused, reset, a name that does not resolve. Its message repeats
  // the URL with its query; the call's name says where, so only the reason is kept. Anything
  // else (a kubeconfig's exec plugin that failed, a TLS setting refused) would fail again.
  if (name === "FetchError" && isEgressRefused(error)) {
    // The cluster's address is configuration, which another attempt will not change.
    const reason = /reason: (.*)$/s.exec(messageOf(error))?.[1] ?? messageOf(error);
    return { retry: false, status: null, reason, retryAfterMs: null };
  }
  if (name === "FetchError") {
    const reason = /reason: (.*)$/s.exec(messageOf(error))?.[1] ?? messageOf(error);
    return { retry: true, status: null, reason, retryAfterMs: null };
  }
  return { retry: false, status: null, reason: messageOf(error), retryAfterMs: null };
}

/** The server's own words: a Kubernetes Status's `message` (`deployments.apps is forbidden: …`). */
function detailOf(body: unknown): string {
  let value = body;
  if (typeof body === "string") {
    try {
      value = JSON.parse(body);
    } catch {
      const plain = body.replace(/\s+/g, " ").trim().slice(0, 300);
      return plain ? `: ${plain}` : "";
    }
  }
  const message = (value as { message?: unknown } | null)?.message;
  return typeof message === "string" ? `: ${message.slice(0, 300)}` : "";
}

export function statusOf(object: unknown): { code: number | null; text: string } {
  const s = (object ?? {}) as { code?: unknown; reason?: unknown; message?: unknown };
  const code = typeof s.code === "number" ? s.code : null;
  const words = [s.reason, s.message].filter((w): w is string => typeof w === "string").join(": ");
  return { code, text: `${code ?? "error"}${words ? ` ${words}` : ""}` };
}

export function watchError(path: string, error: unknown): KubernetesError {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  const code = typeof status === "number" ? status : null;
  return new KubernetesError(`watch ${path}: ${code === null ? messageOf(error) : `HTTP ${code}`}`, code);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
