/** Seconds in each unit a duration may be written in: `s m h d w`. */
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 } as const;

const DURATION_PATTERN = /^(\d+(?:\.\d+)?)([smhdw])$/;

/**
 * The longest duration taken: 1000 years. Durations are added to instants, and a JavaScript Date
 * ends 275,000 years after 1970, so a longer one (`99999999999999999999d` is finite as a number)
 * would make a due date no clock can write, and every answer that shows it fail.
 */
export const MAX_DURATION_SECONDS = 1000 * 365 * 86_400;

/**
 * Parses a duration such as `90d`, `36h` or `1.5w` into whole seconds, at most
 * MAX_DURATION_SECONDS. Returns `undefined` for anything else, so callers can name the bad field.
 */
export function parseDuration(text: string): number | undefined {
  const match = DURATION_PATTERN.exec(text.trim());
  if (!match) return undefined;
  const [, amount, unit] = match;
  const seconds = Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  const whole = Math.round(seconds);
  return whole > 0 && whole <= MAX_DURATION_SECONDS ? whole : undefined;
}

const TIMEOUT_UNIT_MS = { ms: 1, s: 1_000, m: 60_000 } as const;

/**
 * Parses a timeout such as `30s`, `500ms` or `2m` into whole milliseconds, at least 1. Returns
 * `undefined` for anything else, so callers can name the bad flag or variable.
 */
export function parseMilliseconds(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text.trim());
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * TIMEOUT_UNIT_MS[match[2] as keyof typeof TIMEOUT_UNIT_MS]);
  return ms >= 1 && Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Formats seconds in the largest unit that keeps the number readable: `41d`, `5h`, `12m`, `30s`.
 * Ages of a year or more stay in days (`412d`) because TTLs are written in days.
 */
export function formatDuration(seconds: number): string {
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(Math.floor(seconds));
  if (s >= UNIT_SECONDS.d) return `${sign}${Math.floor(s / UNIT_SECONDS.d)}d`;
  if (s >= UNIT_SECONDS.h) return `${sign}${Math.floor(s / UNIT_SECONDS.h)}h`;
  if (s >= UNIT_SECONDS.m) return `${sign}${Math.floor(s / UNIT_SECONDS.m)}m`;
  return `${sign}${s}s`;
}
