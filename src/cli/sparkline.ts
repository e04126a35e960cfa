/** Eight heights, lowest first. */
export const LEVELS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;

/** A value at a time with a weight (a window's mean and its samples). */
export interface SeriesPoint {
  at: number;
  value: number | null;
  weight: number;
}

/** A cell of a sparkline: the weighted mean of the points that fall in it, or null if none did. */
export type Cell = number | null;

/**
 * Puts points on `cells` equal spans of time from `from` to `to` (the first point goes in the
 * first cell, a point at `to` in the last), each cell the weighted mean of its points. Time, not
 * the points' order, places them: a stretch with no points stays an empty cell, a gap to see.
 * A point without a value (a window with no samples, a NaN that JSON turned into null) counts
 * for nothing.
 */
export function bucketByTime(points: SeriesPoint[], from: number, to: number, cells: number): Cell[] {
  const sums = new Array<number>(cells).fill(0);
  const weights = new Array<number>(cells).fill(0);
  const span = Math.max(to - from, 1);
  for (const p of points) {
    if (p.value === null || !Number.isFinite(p.value)) continue;
    const i = Math.min(cells - 1, Math.max(0, Math.floor(((p.at - from) / span) * cells)));
    const w = p.weight > 0 ? p.weight : 1;
    sums[i] = (sums[i] ?? 0) + p.value * w;
    weights[i] = (weights[i] ?? 0) + w;
  }
  return sums.map((sum, i) => ((weights[i] ?? 0) > 0 ? sum / (weights[i] ?? 1) : null));
}

/** The range a sparkline spans: its values' and any reference lines' (a target), so each shows. */
export function rangeOf(values: Cell[], ...lines: (number | null)[]): { min: number; max: number } | null {
  const all = [...values, ...lines].filter((v): v is number => v !== null && Number.isFinite(v));
  if (all.length === 0) return null;
  return { min: Math.min(...all), max: Math.max(...all) };
}

/** The height (0–7) of `value` between `min` and `max`; a flat range draws mid-height. */
export function levelOf(value: number, min: number, max: number): number {
  if (max <= min) return 3;
  const level = Math.round(((value - min) / (max - min)) * (LEVELS.length - 1));
  return Math.min(LEVELS.length - 1, Math.max(0, level));
}

/** The cells as `▁▂▃▄▅▆▇█`, an empty cell as a space. */
export function sparkline(cells: Cell[], range: { min: number; max: number }): string {
  return cells.map((c) => (c === null ? " " : LEVELS[levelOf(c, range.min, range.max)])).join("");
}
