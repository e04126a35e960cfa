/**
 * Reads Retry-After (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date turned into the delay
 * from `nowMs` (a date already past is 0). Anything else is ignored, as the RFC allows.
 */
export function retryAfterMs(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const ms = Number(text) * 1000;
    return Number.isSafeInteger(ms) ? ms : null;
  }
  // Every HTTP-date form starts with a day name; without that check Date.parse would read "1.5"
  // as a date in 2001. The asctime form has no zone but means GMT (RFC 9110 §5.6.7).
  if (!/^[A-Za-z]{3,9},? /.test(text)) return null;
  const date = Date.parse(/GMT$/.test(text) ? text : `${text} GMT`);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}
