/**
 * The drift benchmark's data, deterministic: two pairs of CSV files in a folder.
 *
 * - numeric: one column `x`; reference N(0, 1), current N(0.05, 1.05²) (a slight shift), six
 *   decimals, ROWS rows each.
 * - categorical: 20 columns `c01`…`c20` with 5–50 categories each (`v0`…`v49`), Zipf-like shares;
 *   the current file moves 10% of the share of the top category to the last in the odd columns
 *   and keeps the even ones as they are, ROWS rows each.
 *
 * The pairs are separate so that the numeric timing is one column only.
 */
import { closeSync, openSync, statSync, writeSync } from "node:fs";
import { join } from "node:path";
import { seededRandom as seeded } from "../../dist/core/reservoir.js";

export const CATEGORICAL_COLUMNS = 20;

export interface DriftFiles {
  numeric_reference: string;
  numeric_current: string;
  categorical_reference: string;
  categorical_current: string;
  rows: number;
  /** Bytes of each file. */
  bytes: Record<string, number>;
}

/** Standard normal draws by Box–Muller, from a seeded uniform stream. */
function normals(seed: number): () => number {
  const uniform = seeded(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const value = spare;
      spare = undefined;
      return value;
    }
    const u = 1 - uniform();
    const v = uniform();
    const radius = Math.sqrt(-2 * Math.log(u));
    spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  };
}

/** Writes a header and `rows` lines made by `line`, buffered in chunks of about 1 MiB. */
function writeCsv(path: string, header: string, rows: number, line: () => string): void {
  const fd = openSync(path, "w");
  try {
    let chunk = `${header}\n`;
    for (let i = 0; i < rows; i++) {
      chunk += `${line()}\n`;
      if (chunk.length >= 1 << 20) {
        writeSync(fd, chunk);
        chunk = "";
      }
    }
    writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

/** Categories of column j (0-based): 5 to 50 over the 20 columns. */
export function categoriesOf(column: number): number {
  return 5 + Math.round((45 * column) / (CATEGORICAL_COLUMNS - 1));
}

/** Cumulative shares of a column's categories; `drifted` moves 10% of the top share to the last. */
function cumulativeShares(k: number, drifted: boolean): Float64Array {
  const weights = Array.from({ length: k }, (_, i) => 1 / (i + 1));
  if (drifted) {
    const moved = (weights[0] as number) * 0.1;
    weights[0] = (weights[0] as number) - moved;
    weights[k - 1] = (weights[k - 1] as number) + moved;
  }
  const total = weights.reduce((a, b) => a + b, 0);
  const cumulative = new Float64Array(k);
  let sum = 0;
  weights.forEach((w, i) => {
    sum += w / total;
    cumulative[i] = sum;
  });
  cumulative[k - 1] = 1;
  return cumulative;
}

function categoricalLine(random: () => number, tables: Float64Array[]): () => string {
  const labels = Array.from({ length: 50 }, (_, i) => `v${i}`);
  return () => {
    let line = "";
    for (let j = 0; j < tables.length; j++) {
      const table = tables[j] as Float64Array;
      const u = random();
      let k = 0;
      while (k < table.length - 1 && u >= (table[k] as number)) k++;
      line += j === 0 ? labels[k] : `,${labels[k]}`;
    }
    return line;
  };
}

/** Writes the four files into `dir` (the same bytes for the same `rows`) and returns their paths. */
export function writeDriftFiles(dir: string, rows: number): DriftFiles {
  const files = {
    numeric_reference: join(dir, "numeric-reference.csv"),
    numeric_current: join(dir, "numeric-current.csv"),
    categorical_reference: join(dir, "categorical-reference.csv"),
    categorical_current: join(dir, "categorical-current.csv"),
  };
  const reference = normals(1);
  writeCsv(files.numeric_reference, "x", rows, () => reference().toFixed(6));
  const current = normals(2);
  writeCsv(files.numeric_current, "x", rows, () => (0.05 + 1.05 * current()).toFixed(6));

  const header = Array.from(
    { length: CATEGORICAL_COLUMNS },
    (_, j) => `c${String(j + 1).padStart(2, "0")}`,
  ).join(",");
  const tables = (drift: boolean) =>
    Array.from({ length: CATEGORICAL_COLUMNS }, (_, j) =>
      cumulativeShares(categoriesOf(j), drift && j % 2 === 1),
    );
  writeCsv(files.categorical_reference, header, rows, categoricalLine(seeded(3), tables(false)));
  writeCsv(files.categorical_current, header, rows, categoricalLine(seeded(4), tables(true)));

  const bytes = Object.fromEntries(Object.entries(files).map(([name, path]) => [name, statSync(path).size]));
  return { ...files, rows, bytes };
}
