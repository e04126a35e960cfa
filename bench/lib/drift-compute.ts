/**
 * The in-process half of the drift benchmark, run as its own process by bench/drift.ts so its
 * memory is its own:
 *
 * - reads the numeric and categorical files with `readDataset` (from dist/), timed;
 * - times `compareDatasets` per method on the data already in memory, ROUNDS times each, and
 *   beside it the steps a numeric method is made of (the radix-sorted copy, the built-in typed
 *   array sort of the same values);
 * - times the sketch merges the samples route does (`addToReservoir`, `addToCounts`) against a
 *   plain copy of the same values.
 *
 *   node --import tsx bench/lib/drift-compute.ts --files FILES.json --rounds N --out OUT.json
 */
import { readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";
import type { Dataset } from "../../dist/core/drift/compare.js";
import { compareDatasets } from "../../dist/core/drift/compare.js";
import type { DriftMethod } from "../../dist/core/drift/detect.js";
import { sortedCopy } from "../../dist/core/drift/ks.js";
import { addToCounts, addToReservoir, seededRandom } from "../../dist/core/reservoir.js";
import { readDataset } from "../../dist/monitoring/dataset-reader.js";
import { CATEGORY_CAPACITY, DAY_CAPACITY } from "../../dist/monitoring/drift-monitor.js";
import { integer, parseScriptOptions } from "./bench-options.js";
import type { DriftFiles } from "./drift-data.js";
import { median, round } from "./stats.js";

export interface Timing {
  median_ms: number;
  min_ms: number;
  max_ms: number;
  runs: number;
}

export interface ComputeResult {
  read_ms: { numeric: Timing; categorical: Timing };
  /** process.memoryUsage() once the numeric files are read, MiB. */
  memory_after_numeric_read_mb: { rss: number; heap_used: number; array_buffers: number };
  compare: Record<string, Timing & { statistic: number | null }>;
  steps: Record<string, Timing>;
  merge: {
    batch: number;
    batches: number;
    reservoir_capacity: number;
    reservoir: Timing & { values_per_s: number };
    reservoir_peer: Timing & { values_per_s: number };
    counts: Timing & { values_per_s: number };
    counts_peer: Timing & { values_per_s: number };
  };
}

function timing(times: number[]): Timing {
  return {
    median_ms: round(median(times), 2),
    min_ms: round(Math.min(...times), 2),
    max_ms: round(Math.max(...times), 2),
    runs: times.length,
  };
}

function timeRuns(rounds: number, run: () => void): Timing {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return timing(times);
}

async function timeReads(rounds: number, reference: string, current: string) {
  const times: number[] = [];
  let data: [Dataset, Dataset] | undefined;
  for (let i = 0; i < rounds; i++) {
    data = undefined;
    const started = process.hrtime.bigint();
    // As the CLI does: both files at once.
    const [r, c] = await Promise.all([readDataset(reference), readDataset(current)]);
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    data = [r.data, c.data];
  }
  return { timing: timing(times), data: data as [Dataset, Dataset] };
}

/**
 * A round of a computation lasts at least this long: one that takes less is called again and
 * again within the round, and the round's figure is the time per call. A sub-millisecond
 * computation timed once is mostly timer and scheduler noise (Jensen–Shannon on 20 columns read
 * 0.47 to 0.72 ms in three runs of the same build). bench/lib/drift_scipy.py times SciPy so too.
 */
const MIN_ROUND_MS = 20;

function timeBatchedRuns(rounds: number, run: () => void): Timing & { calls_per_round: number } {
  const times: number[] = [];
  let calls = 0;
  for (let i = 0; i < rounds; i++) {
    const started = process.hrtime.bigint();
    let elapsed = 0;
    calls = 0;
    do {
      run();
      calls++;
      elapsed = Number(process.hrtime.bigint() - started) / 1e6;
    } while (elapsed < MIN_ROUND_MS);
    times.push(elapsed / calls);
  }
  return { ...timing(times), calls_per_round: calls };
}

function compareTimed(rounds: number, reference: Dataset, current: Dataset, method: DriftMethod) {
  let statistic: number | null = null;
  const t = timeBatchedRuns(rounds, () => {
    statistic = compareDatasets(reference, current, { method }).columns[0]?.statistic ?? null;
  });
  return { ...t, statistic };
}

/** Merges `batches` batches of `batch` values as the samples route does, and the copy that is its floor. */
function mergeRates(rounds: number, batch: number, batches: number): ComputeResult["merge"] {
  const random = seededRandom(7);
  const numbers = Array.from({ length: batches }, () =>
    Array.from({ length: batch }, () => Math.round(random() * 1e6) / 1e3),
  );
  const labels = Array.from({ length: 20 }, (_, i) => `v${i}`);
  const strings = Array.from({ length: batches }, () =>
    Array.from({ length: batch }, () => labels[Math.floor(random() * random() * 20)] as string),
  );
  const values = batch * batches;
  const rate = (t: Timing) => ({ ...t, values_per_s: Math.round(values / (t.median_ms / 1000)) });
  let sink = 0;
  const reservoir = timeRuns(rounds, () => {
    let kept: number[] = [];
    let seen = 0;
    for (const values of numbers) {
      const next = addToReservoir(kept, seen, values, DAY_CAPACITY, seededRandom(seen));
      kept = next.reservoir;
      seen = next.seen;
    }
    sink += kept.length;
  });
  const reservoirPeer = timeRuns(rounds, () => {
    const target = new Float64Array(batch);
    for (const values of numbers) target.set(values);
    sink += target[0] as number;
  });
  const counts = timeRuns(rounds, () => {
    let kept: Record<string, number> = {};
    for (const values of strings) kept = addToCounts(kept, values, CATEGORY_CAPACITY);
    sink += Object.keys(kept).length;
  });
  const countsPeer = timeRuns(rounds, () => {
    const kept = new Map<string, number>();
    for (const values of strings) for (const value of values) kept.set(value, (kept.get(value) ?? 0) + 1);
    sink += kept.size;
  });
  if (sink === Number.NEGATIVE_INFINITY) process.stdout.write("\n");
  return {
    batch,
    batches,
    reservoir_capacity: DAY_CAPACITY,
    reservoir: rate(reservoir),
    reservoir_peer: rate(reservoirPeer),
    counts: rate(counts),
    counts_peer: rate(countsPeer),
  };
}

async function main(): Promise<void> {
  const flags = parseScriptOptions("drift-compute", {
    files: {
      schema: z.string().min(1),
      value: "FILE",
      help: "the generated files, as drift-data.ts lists them (JSON)",
    },
    rounds: { schema: integer(1).default(7), value: "N", help: "runs per method" },
    out: { schema: z.string().min(1), value: "FILE", help: "where the results go (JSON)" },
  });
  const files = JSON.parse(readFileSync(flags.files, "utf8")) as DriftFiles;
  const rounds = flags.rounds;

  const numeric = await timeReads(3, files.numeric_reference, files.numeric_current);
  const memory = process.memoryUsage();
  const [numRef, numCur] = numeric.data;
  const compare: ComputeResult["compare"] = {};
  for (const method of ["ks", "wasserstein", "psi"] as const)
    compare[method] = compareTimed(rounds, numRef, numCur, method);

  const column = numRef.get("x");
  if (column?.kind !== "numeric") throw new Error("the numeric file has no numeric column x");
  const steps = {
    radix_sorted_copy: timeRuns(rounds, () => sortedCopy(column.values)),
    builtin_typed_array_sort: timeRuns(rounds, () => column.values.slice().sort()),
    copy_only: timeRuns(rounds, () => column.values.slice()),
  };

  const categorical = await timeReads(1, files.categorical_reference, files.categorical_current);
  const [catRef, catCur] = categorical.data;
  for (const method of ["chisquare", "jensenshannon"] as const)
    compare[method] = compareTimed(rounds, catRef, catCur, method);

  const result: ComputeResult = {
    read_ms: { numeric: numeric.timing, categorical: categorical.timing },
    memory_after_numeric_read_mb: {
      rss: round(memory.rss / 2 ** 20, 1),
      heap_used: round(memory.heapUsed / 2 ** 20, 1),
      array_buffers: round(memory.arrayBuffers / 2 ** 20, 1),
    },
    compare,
    steps,
    merge: mergeRates(rounds, 1_000, 1_000),
  };
  writeFileSync(flags.out, `${JSON.stringify(result, null, 2)}\n`);
}

await main();
