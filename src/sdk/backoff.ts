/**
 * Waiting between attempts: exponential backoff with full jitter, and `Retry-After` read as RFC
 * 9110 §10.2.3 writes it (delay-seconds or an HTTP-date). Timers are unref'd: a model server
 * that is otherwise done must be free to exit while Tenure is being waited for.
 */

/** The delay before attempt `attempt` (1 for the first retry): random in [0, min(cap, base × 2^(attempt−1))]. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
}

/** `Retry-After` in milliseconds from `now`, or null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // An HTTP-date, in any of its three forms, opens with the weekday; Date.parse would read "-5" as a year.
  if (!/^[A-Za-z]{3}/.test(text)) return null;
  // asctime carries no zone; every HTTP-date is in GMT.
  const date = Date.parse(text.includes("GMT") ? text : `${text} GMT`);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/**
 * Resolves after `ms`, or at once when the signal aborts; never rejects. Unless `hold` is set it
 * does not keep the process open: background work must not, while a caller that awaits (close)
 * must be let finish.
 */
export function pause(ms: number, signal?: AbortSignal, hold = false): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    if (!hold) timer.unref();
    signal?.addEventListener("abort", done, { once: true });
  });
}
