/**
 * Waiting between attempts: exponential backoff with full jitter, unless the server's
 * `Retry-After` (read by src/core/retry-after.ts) says how long. Timers are unref'd: a model
 * server that is otherwise done must be free to exit while Tenure is being waited for.
 */

/** The delay before attempt `attempt` (1 for the first retry): random in [0, min(cap, base × 2^(attempt−1))]. */
export function backoffDelay(attempt: number, baseMs: number, capMs: number, random = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
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
