/**
 * What a server retains, as the load benchmark measures it: the heap left after a full collection,
 * sampled by bench/lib/heap-probe.mjs inside the server (started with --expose-gc and --import of
 * that file; see there), and whether it levelled off. RSS is a poor signal of a leak (V8 grows the
 * heap ahead of need and the allocator keeps freed pages); the heap a forced collection leaves is
 * what the process holds on to.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { round } from "./stats.js";

/** The probe module that `node --import` loads into the server under test. */
export const HEAP_PROBE = fileURLToPath(new URL("./heap-probe.mjs", import.meta.url));

/** One line the probe writes: the heap after a forced full collection. */
export interface ProbeLine {
  n: number;
  at: number;
  gc_ms: number;
  used_heap_size: number;
  total_heap_size: number;
  external_memory: number;
  array_buffers: number;
  rss: number;
  spaces: Record<string, number>;
  snapshot?: string;
}

export interface HeapSample {
  t_s: number;
  /** Heap in use after a full collection: what the process retains. */
  heap_mb: number;
  /** Memory outside V8's heap that V8 knows of (Buffers, SQLite's statements do not count here). */
  external_mb: number;
  gc_ms: number;
}

/** A least-squares line through samples, and how far they scatter about it. */
export interface Trend {
  samples: number;
  from_s: number;
  to_s: number;
  slope_mb_per_min: number;
  /** The slope's standard error: a slope several times this is a trend, not scatter. */
  slope_se_mb_per_min: number;
  /** The rise the slope amounts to over the window. */
  rise_mb: number;
  /** Standard deviation of the samples about the line. */
  scatter_mb: number;
}

export interface HeapTrend {
  first_mb: number;
  after_warmup_mb: number;
  last_mb: number;
  max_mb: number;
  /** The whole load after warm-up. */
  after_warmup: Trend;
  /** Its last third: where a plateau must show. */
  last_third: Trend;
  /** The last third's rise is within its noise: max(2 × scatter, PLATEAU_TOLERANCE of the heap). */
  plateau: boolean;
  noise_mb: number;
  snapshots: string[];
  samples?: HeapSample[];
}

/** A rise smaller than this share of the retained heap over the last third counts as flat. */
export const PLATEAU_TOLERANCE = 0.01;

/** Reads the probe's lines; `startedAt` (epoch ms) is the load's start, t = 0. */
export function readProbe(file: string, startedAt: number): { samples: HeapSample[]; snapshots: string[] } {
  if (!existsSync(file)) return { samples: [], snapshots: [] };
  const lines = readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as ProbeLine);
  return {
    samples: lines.map((l) => ({
      t_s: round((l.at - startedAt) / 1000, 1),
      heap_mb: round(l.used_heap_size / 2 ** 20, 2),
      external_mb: round(l.external_memory / 2 ** 20, 2),
      gc_ms: round(l.gc_ms, 1),
    })),
    snapshots: lines.flatMap((l) => (l.snapshot ? [l.snapshot] : [])),
  };
}

export function fitTrend(points: readonly { t_s: number; mb: number }[]): Trend {
  const n = points.length;
  if (n < 2) {
    return {
      samples: n,
      from_s: points[0]?.t_s ?? 0,
      to_s: points[0]?.t_s ?? 0,
      slope_mb_per_min: 0,
      slope_se_mb_per_min: 0,
      rise_mb: 0,
      scatter_mb: 0,
    };
  }
  const meanT = points.reduce((s, p) => s + p.t_s, 0) / n;
  const meanY = points.reduce((s, p) => s + p.mb, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const p of points) {
    sxy += (p.t_s - meanT) * (p.mb - meanY);
    sxx += (p.t_s - meanT) ** 2;
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  const residuals = points.map((p) => p.mb - (meanY + slope * (p.t_s - meanT)));
  const scatter = Math.sqrt(residuals.reduce((s, r) => s + r * r, 0) / Math.max(1, n - 2));
  const from = points[0]?.t_s ?? 0;
  const to = points.at(-1)?.t_s ?? 0;
  return {
    samples: n,
    from_s: from,
    to_s: to,
    slope_mb_per_min: round(slope * 60, 3),
    slope_se_mb_per_min: round(sxx > 0 ? (scatter / Math.sqrt(sxx)) * 60 : 0, 3),
    rise_mb: round(slope * (to - from), 2),
    scatter_mb: round(scatter, 2),
  };
}

/** The retained heap's trend over the load (samples from t = warm-up on), and the plateau verdict. */
export function heapTrend(
  samples: readonly HeapSample[],
  warmupSeconds: number,
  snapshots: string[],
): HeapTrend {
  const after = samples.filter((s) => s.t_s >= warmupSeconds).map((s) => ({ t_s: s.t_s, mb: s.heap_mb }));
  const span = (after.at(-1)?.t_s ?? 0) - (after[0]?.t_s ?? 0);
  const cut = (after.at(-1)?.t_s ?? 0) - span / 3;
  const last = after.filter((p) => p.t_s >= cut);
  const lastTrend = fitTrend(last);
  const lastMean = last.reduce((s, p) => s + p.mb, 0) / Math.max(1, last.length);
  const noise = Math.max(2 * lastTrend.scatter_mb, PLATEAU_TOLERANCE * lastMean);
  return {
    first_mb: samples[0]?.heap_mb ?? Number.NaN,
    after_warmup_mb: after[0]?.mb ?? Number.NaN,
    last_mb: after.at(-1)?.mb ?? Number.NaN,
    max_mb: Math.max(...after.map((p) => p.mb)),
    after_warmup: fitTrend(after),
    last_third: lastTrend,
    plateau: last.length >= 3 && lastTrend.rise_mb <= noise,
    noise_mb: round(noise, 2),
    snapshots,
  };
}

/** Two lines for the summary: the trend after warm-up, and the last third's against its noise. */
export function formatHeapTrend(name: string, h: HeapTrend): string {
  const t = (x: Trend) =>
    `${x.slope_mb_per_min >= 0 ? "+" : ""}${x.slope_mb_per_min.toFixed(3)} ± ${x.slope_se_mb_per_min.toFixed(3)} MiB/min`;
  return [
    `  heap after gc, ${name.padEnd(6)} ${h.first_mb} MiB at 0 s, ${h.after_warmup_mb} after warm-up -> ${h.last_mb} MiB ` +
      `at the end, max ${h.max_mb}; slope after warm-up ${t(h.after_warmup)}`,
    `    last third (${h.last_third.from_s}-${h.last_third.to_s} s, ${h.last_third.samples} samples): ${t(h.last_third)}, ` +
      `rise ${h.last_third.rise_mb} MiB against noise ${h.noise_mb} MiB: ${h.plateau ? "plateau" : "STILL RISING"}` +
      (h.snapshots.length > 0 ? `\n    snapshots: ${h.snapshots.join(" ")}` : ""),
  ].join("\n");
}
