/** The drift benchmark's result file and its printed summary. */
import type { ComputeResult } from "./drift-compute.js";
import type { IngestResult } from "./drift-ingest.js";
import { round } from "./stats.js";

export const TARGETS = {
  /** End to end from the files: Tenure's time at most this times SciPy's. */
  e2e_ratio: 0.5,
  /** The computation alone, on data in memory. */
  compute_ratio: 1.5,
  /** Peak RSS above the CLI's own baseline, against the bytes of the two files. */
  memory_ratio: 2,
} as const;

export const NUMERIC_METHODS = ["ks", "wasserstein", "psi"] as const;
export const CATEGORICAL_METHODS = ["chisquare", "jensenshannon"] as const;
export type BenchMethod = (typeof NUMERIC_METHODS)[number] | (typeof CATEGORICAL_METHODS)[number];

/** One command run as a child: wall time from spawn to exit, and its peak RSS (/usr/bin/time %M). */
export interface Run {
  wall_ms: number;
  peak_rss_mb: number;
}

export interface RunSet {
  runs: Run[];
  median_ms: number;
  min_ms: number;
  max_ms: number;
  peak_rss_mb: number;
}

export interface EndToEnd {
  method: BenchMethod;
  files: "numeric" | "categorical";
  tenure: RunSet;
  scipy?: RunSet;
  /** Tenure's median / SciPy's median. */
  ratio?: number;
  met?: boolean;
  /** The first column's statistic from each side: they should agree. */
  tenure_statistic: number | null;
  scipy_statistic?: number | null;
  /** SciPy's own split of one run: imports, read_csv of both files, the computation. */
  scipy_split?: { import_s: number; read_s: number; compute_s: number };
}

export interface ComputeRow {
  method: BenchMethod;
  tenure_ms: number;
  scipy_ms?: number;
  ratio?: number;
  met?: boolean;
}

export interface MemoryFigures {
  files: "numeric" | "categorical";
  /** Bytes of the two files. */
  file_mb: number;
  /** 8 bytes × rows × 2 files: the numbers alone. */
  values_mb?: number;
  /** `tenure --version`'s peak RSS: Node and the CLI before any data. */
  baseline_mb: number;
  /** The highest peak RSS of `tenure drift` over the methods and runs on these files. */
  peak_mb: number;
  growth_mb: number;
  peak_per_file: number;
  growth_per_file: number;
  peak_per_values?: number;
  growth_per_values?: number;
  scipy_peak_mb?: number;
  met: boolean;
}

export interface DriftBenchResult {
  bench: "drift";
  build: string;
  started_at: string;
  seconds: number;
  machine: Record<string, string | number>;
  options: Record<string, unknown>;
  peers: Record<string, string>;
  scipy_versions?: Record<string, string>;
  scipy_missing?: string;
  files: { rows: number; bytes: Record<string, number>; generate_s: number };
  startup: { tenure_version: RunSet };
  end_to_end: EndToEnd[];
  compute: ComputeRow[];
  compute_detail: ComputeResult;
  scipy_compute?: Record<string, unknown>;
  memory: MemoryFigures[];
  ingest?: IngestResult;
  targets: typeof TARGETS;
}

const ms = (value: number) => `${round(value, value < 10 ? 2 : 0).toLocaleString("en-US")} ms`;
const ratio = (value: number | undefined) => (value === undefined ? "–" : `${round(value, 2)}×`);
const met = (value: boolean | undefined) => (value === undefined ? "–" : value ? "met" : "NOT met");
const rate = (value: number) => `${Math.round(value).toLocaleString("en-US")}/s`;
const rows = (value: number) => `${Math.round(value).toLocaleString("en-US")} rows/s`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

export function formatSummary(result: DriftBenchResult): string {
  const out: string[] = [];
  const e2e = result.end_to_end.map((e) => [
    e.method,
    e.files,
    `${ms(e.tenure.median_ms)} (${ms(e.tenure.min_ms)}–${ms(e.tenure.max_ms)})`,
    e.scipy ? `${ms(e.scipy.median_ms)} (${ms(e.scipy.min_ms)}–${ms(e.scipy.max_ms)})` : "–",
    ratio(e.ratio),
    `≤ ${TARGETS.e2e_ratio}×`,
    met(e.met),
  ]);
  out.push(
    `end to end from the files (median of ${result.options.rounds} runs; tenure --version alone: ` +
      `${ms(result.startup.tenure_version.median_ms)}):`,
    table(["method", "files", "tenure drift", "pandas + scipy", "ratio", "target", ""], e2e),
    "",
  );
  const compute = result.compute.map((c) => [
    c.method,
    ms(c.tenure_ms),
    c.scipy_ms === undefined ? "–" : ms(c.scipy_ms),
    ratio(c.ratio),
    `≤ ${TARGETS.compute_ratio}×`,
    met(c.met),
  ]);
  const detail = result.compute_detail;
  out.push(
    `computation alone, data in memory (median of ${result.options.rounds}; readDataset of the numeric pair ` +
      `${ms(detail.read_ms.numeric.median_ms)}, of the categorical pair ${ms(detail.read_ms.categorical.median_ms)}):`,
    table(["method", "compareDatasets", "scipy", "ratio", "target", ""], compute),
    `  steps on the reference column (${result.files.rows.toLocaleString("en-US")} values): radix-sorted copy ${ms(detail.steps.radix_sorted_copy?.median_ms ?? 0)}, ` +
      `Float64Array slice().sort() ${ms(detail.steps.builtin_typed_array_sort?.median_ms ?? 0)}`,
    "",
  );
  const memory = result.memory.map((m) => [
    m.files,
    `${round(m.file_mb, 1)} MB`,
    m.values_mb === undefined ? "–" : `${round(m.values_mb, 1)} MB`,
    `${round(m.peak_mb, 1)} MB`,
    `${round(m.growth_mb, 1)} MB`,
    `${ratio(m.peak_per_file)} / ${ratio(m.growth_per_file)}`,
    m.peak_per_values === undefined ? "–" : `${ratio(m.peak_per_values)} / ${ratio(m.growth_per_values)}`,
    m.scipy_peak_mb === undefined ? "–" : `${round(m.scipy_peak_mb, 1)} MB`,
    met(m.met),
  ]);
  out.push(
    `memory of tenure drift (baseline: tenure --version, ${round(result.memory[0]?.baseline_mb ?? 0, 1)} MB; ` +
      `target: growth ≤ ${TARGETS.memory_ratio}× the files' bytes):`,
    table(
      [
        "files",
        "file bytes",
        "8 B × rows",
        "peak RSS",
        "growth",
        "peak/growth per file",
        "per 8 B × rows",
        "scipy peak",
        "",
      ],
      memory,
    ),
    "",
  );
  const merge = detail.merge;
  out.push(
    `sketch merge, ${merge.batches} batches of ${merge.batch} values (median of ${result.options.rounds}):`,
    `  addToReservoir (capacity ${merge.reservoir_capacity}) ${rate(merge.reservoir.values_per_s)} vs ` +
      `Float64Array.set of the same values ${rate(merge.reservoir_peer.values_per_s)}: ` +
      `${ratio(merge.reservoir.values_per_s / merge.reservoir_peer.values_per_s)}`,
    `  addToCounts ${rate(merge.counts.values_per_s)} vs a Map<string, number> count ` +
      `${rate(merge.counts_peer.values_per_s)}: ${ratio(merge.counts.values_per_s / merge.counts_peer.values_per_s)}`,
  );
  const ingest = result.ingest;
  if (ingest) {
    out.push(
      "",
      `ingest, POST /samples, ${ingest.rows_per_batch} rows × ${ingest.features} features a request, ` +
        `${ingest.connections} connections (median of ${result.options["ingest-rounds"]} rounds):`,
      `  tenure ${rows(ingest.tenure_rows_per_s)}, floor ${rows(ingest.floor_rows_per_s)}: ` +
        `${ratio(ingest.ratio)} (peak RSS ${ingest.tenure_peak_rss_mb} / ${ingest.floor_peak_rss_mb} MB)`,
    );
  }
  if (result.scipy_missing) out.push("", `SciPy peer skipped: ${result.scipy_missing}`);
  return out.join("\n");
}
