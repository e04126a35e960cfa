/** Rows a multi-row insert of alerts or deliveries writes at most: bounded statements, bounded memory. */
const WRITE_CHUNK = 256;

/**
 * Splits `n` rows into chunks of WRITE_CHUNK and then powers of two, so that a multi-row insert
 * has one of a few shapes: each is prepared once and reused (SQLite's statement cache), where a
 * shape per row count would prepare a new statement, and hold its memory, almost every time.
 */
export function chunks(n: number): [number, number][] {
  const result: [number, number][] = [];
  let start = 0;
  for (; n - start >= WRITE_CHUNK; start += WRITE_CHUNK) result.push([start, start + WRITE_CHUNK]);
  for (let size = WRITE_CHUNK / 2; size >= 1; size /= 2) {
    if (n - start >= size) {
      result.push([start, start + size]);
      start += size;
    }
  }
  return result;
}
