/**
 * Request rates as `tenure serve --rate-limit` takes them: `50/s`, `3000/m`, `100000/h`, or
 * `off`. The limiter that enforces them is src/http/rate-limit.ts.
 */

/** `count` requests per `perMs`; a full bucket also lets `count` through at once. */
export interface Rate {
  count: number;
  perMs: number;
}

/**
 * Per token: above what one token reaches in `npm run bench -- registry` on the reference
 * machine (BENCHMARKS.md), so the limit stops a runaway client, not the fleet's real traffic.
 */
export const DEFAULT_TOKEN_RATE = "10000/s";

/**
 * Per client address for requests without a valid token (health checks, the admission and
 * MLflow webhooks, public reads, refused tokens): enough for probes and dashboards, and a cap on
 * the token look-ups a stream of made-up tokens can cause.
 */
export const DEFAULT_ANONYMOUS_RATE = "1000/s";

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, min: 60_000, h: 3_600_000 };

/**
 * Parses `50/s`, `3000/m` (or `/min`), `100000/h`; `off` is null (no limit). Undefined when
 * the text is none of these, so that callers can name the bad flag or variable.
 */
export function parseRate(text: string): Rate | null | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "off") return null;
  const match = /^(\d{1,9})\/(s|m|min|h)$/.exec(trimmed);
  const count = Number(match?.[1]);
  const perMs = UNIT_MS[match?.[2] ?? ""];
  if (!match || perMs === undefined || count < 1) return undefined;
  return { count, perMs };
}

/** A rate as `--rate-limit` takes it: `50/s`, or `off` for none. */
export function formatRate(rate: Rate | null | undefined): string {
  if (!rate) return "off";
  return `${rate.count}/${rate.perMs === 1_000 ? "s" : rate.perMs === 60_000 ? "m" : "h"}`;
}

/** How a rate reads in a message: `50 requests a second`. */
export function rateWords(rate: Rate): string {
  const unit = rate.perMs === 1_000 ? "second" : rate.perMs === 60_000 ? "minute" : "hour";
  return `${rate.count} request${rate.count === 1 ? "" : "s"} a ${unit}`;
}
