/** "00" to "99" and "000" to "999": a table read is cheaper than padding a number. */
const PAD2 = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, "0"));
const PAD3 = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, "0"));

const DAY_MS = 86_400_000;

/**
 * The `YYYY-MM-DDT` of recent days, by days since 1970-01-01. A page of deployments writes four
 * timestamps a row from a few hundred days at most, so nearly every one finds its day here. Bounded:
 * emptied when full. A memo of a pure function, so isoTime stays one.
 */
const dayPrefixes = new Map<number, string>();
const MAX_REMEMBERED_DAYS = 4096;

/**
 * `new Date(ms).toISOString()` for years 1970–9999, without a Date: lists serialize four
 * timestamps a row, and this, with the day's prefix from a memo, is faster (see BENCHMARKS.md).
 * Outside that range it defers to Date.
 */
export function isoTime(ms: number): string {
  if (!(ms >= 0 && ms < 253_402_300_800_000) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(days);
  if (prefix === undefined) {
    if (dayPrefixes.size >= MAX_REMEMBERED_DAYS) dayPrefixes.clear();
    prefix = datePrefix(days);
    dayPrefixes.set(days, prefix);
  }
  let rest = ms - days * DAY_MS;
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  return (
    // biome-ignore lint/style/useTemplate: concatenation is the faster form here (see BENCHMARKS.md).
    prefix + PAD2[hours] + ":" + PAD2[minutes] + ":" + PAD2[seconds] + "." + PAD3[rest - seconds * 1000] + "Z"
  );
}

/**
 * `YYYY-MM-DDT` of a day since 1970-01-01 (years 1970–9999), by Howard Hinnant's
 * `civil_from_days` (the proleptic Gregorian calendar).
 */
function datePrefix(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${year}-${PAD2[month]}-${PAD2[day]}T`;
}
