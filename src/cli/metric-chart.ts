import type { TimelineView } from "../lifecycle/lifecycle.js";
import { bucketByTime, type Cell, LEVELS, levelOf, rangeOf, sparkline } from "./sparkline.js";

type Metric = TimelineView["metrics"][number];

/** A metric over time, drawn: what `tenure show` prints under the metric's summary line. */
export interface MetricChart {
  /** Each cell's value (a span of time's sample-weighted mean), null where no window fell. */
  cells: Cell[];
  /** The cells as heights, `▁` to `█`. */
  spark: string;
  /** The line the metric is judged against: its target, else the learned threshold; null without. */
  line: number | null;
  lineKind: "target" | "threshold" | null;
  /** The height the line stands at on this scale, so a reader can see which cells clear it. */
  lineLevel: string | null;
  /** Per cell: on the wrong side of the line (below it, or above for a lower-is-better metric). */
  misses: boolean[];
  /** `▔` under each cell that misses, spaces elsewhere: the line under the sparkline. */
  under: string;
  /** How many windows the metric has, and how many of them the policy judged below its line. */
  windows: number;
  below: number;
  /** The newest window with a value: the latest value. */
  latest: { value: number; start: string } | null;
  first: string | null;
}

/**
 * Draws a metric's windows as a sparkline of at most `width` cells over the time they span (one
 * cell a window when there are fewer), scaled to take in the line it is judged against.
 */
export function metricChart(metric: Metric, width = 40): MetricChart {
  const valued = metric.windows.filter((w) => w.mean !== null && Number.isFinite(w.mean));
  const line = metric.target ?? metric.threshold;
  const lineKind = metric.target !== null ? "target" : metric.threshold !== null ? "threshold" : null;
  const firstWindow = metric.windows[0];
  const lastWindow = metric.windows.at(-1);
  const base = {
    line,
    lineKind,
    windows: metric.windows.length,
    below: metric.windows.filter((w) => w.state === "below").length,
    first: firstWindow?.start ?? null,
  } as const;
  const latestWindow = valued.at(-1);
  const latest = latestWindow ? { value: latestWindow.mean, start: latestWindow.start } : null;
  if (!firstWindow || !lastWindow || valued.length === 0) {
    return { ...base, cells: [], spark: "", lineLevel: null, misses: [], under: "", latest };
  }
  const from = Date.parse(firstWindow.start);
  const to = Date.parse(lastWindow.end);
  const windowMs = Math.max(Date.parse(firstWindow.end) - from, 1);
  const cells = bucketByTime(
    valued.map((w) => ({ at: Date.parse(w.start), value: w.mean, weight: w.samples })),
    from,
    to,
    Math.max(1, Math.min(width, Math.round((to - from) / windowMs))),
  );
  const range = rangeOf(cells, line) ?? { min: 0, max: 1 };
  const misses = cells.map(
    (c) => c !== null && line !== null && (metric.direction === "lower" ? c > line : c < line),
  );
  return {
    ...base,
    cells,
    spark: sparkline(cells, range),
    lineLevel: line === null ? null : (LEVELS[levelOf(line, range.min, range.max)] ?? null),
    misses,
    under: misses.map((m) => (m ? "▔" : " ")).join(""),
    latest,
  };
}
