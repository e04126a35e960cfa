/**
 * The drift benchmark: `tenure drift` against pandas + SciPy (Debian's python3-scipy) on the same
 * generated files in the same run: one numeric column (KS, Wasserstein, PSI) and 20 categorical
 * columns (chi-square, Jensen–Shannon), 1,000,000 reference rows against 1,000,000 current rows.
 * End to end from the files (each a child process) and the computation alone on data in memory;
 * the CLI's peak RSS against the data's size; the ingest rate of POST /samples against a floor
 * server and the sketch merge rate against a plain copy.
 *
 *   npm run bench -- drift [--rows N] [--rounds N] [--ingest-seconds S] [--skip-ingest]
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { integer, type Options, switchOption } from "./lib/bench-options.js";
import { defineBench, machineInfo, ROOT, startRun, writeResult } from "./lib/bench-run.js";
import type { ComputeResult } from "./lib/drift-compute.js";
import { type DriftFiles, writeDriftFiles } from "./lib/drift-data.js";
import { benchIngest } from "./lib/drift-ingest.js";
import {
  type BenchMethod,
  CATEGORICAL_METHODS,
  type ComputeRow,
  type DriftBenchResult,
  type EndToEnd,
  formatSummary,
  type MemoryFigures,
  NUMERIC_METHODS,
  type Run,
  type RunSet,
  TARGETS,
} from "./lib/drift-report.js";
import { log } from "./lib/log.js";
import { createScratchDatabase, type ScratchDatabase } from "./lib/scratch-database.js";
import { median, round } from "./lib/stats.js";
import { type Teardown, withTeardown } from "./lib/teardown.js";

const PYTHON = "/usr/bin/python3";
const SCIPY_SCRIPT = join(ROOT, "bench", "lib", "drift_scipy.py");
const TIME = "/usr/bin/time";

const OPTIONS = {
  rows: {
    schema: integer(1_000, 10_000_000).default(1_000_000),
    value: "N",
    help: "rows in each of the four generated files",
  },
  rounds: {
    schema: integer(1, 50).default(5),
    value: "N",
    help: "runs per method, end to end and in memory",
  },
  "ingest-seconds": {
    schema: integer(1, 120).default(10),
    value: "S",
    help: "seconds per ingest round and server",
  },
  "ingest-rounds": {
    schema: integer(1, 20).default(2),
    value: "N",
    help: "alternating floor/tenure ingest rounds",
  },
  connections: { schema: integer(1, 256).default(8), value: "N", help: "ingest connections" },
  "batch-rows": { schema: integer(1, 10_000).default(1_000), value: "N", help: "rows per POST /samples" },
  "skip-ingest": switchOption("leave out the server phase"),
};
type Flags = Options<typeof OPTIONS>;

export const driftBench = defineBench("drift", OPTIONS, async (flags) => {
  const build = startRun();
  if (!existsSync(TIME)) throw new Error(`${TIME} is needed for the children's peak RSS`);
  const started = Date.now();
  // Ctrl-C or a kill: stop the ingest servers and remove the generated files rather than leave them.
  await withTeardown(async (teardown) => {
    const scratch = teardown.database(await createScratchDatabase("sqlite", ""));
    const result = await run(flags, build, scratch, teardown);
    result.started_at = new Date(started).toISOString();
    result.seconds = round((Date.now() - started) / 1000, 1);
    log(`wrote ${writeResult(`drift-${flags.rows}.json`, result)}`);
    log(`\n== drift benchmark: summary (ratio = tenure / scipy; medians) ==\n`);
    log(formatSummary(result));
  });
});

async function run(
  flags: Flags,
  build: string,
  scratch: ScratchDatabase,
  teardown: Teardown,
): Promise<DriftBenchResult> {
  const python = await scipyVersions();
  if ("missing" in python) log(`SciPy peer skipped: ${python.missing}`);
  else log(`SciPy peer: ${PYTHON}, ${JSON.stringify(python.versions)}`);

  const generating = Date.now();
  const files = writeDriftFiles(scratch.dir, flags.rows);
  const generateSeconds = round((Date.now() - generating) / 1000, 1);
  log(
    `generated ${flags.rows.toLocaleString("en-US")} rows a file in ${generateSeconds} s: ` +
      Object.entries(files.bytes)
        .map(([name, bytes]) => `${name} ${round(bytes / 1e6, 1)} MB`)
        .join(", "),
  );

  const startup = await runSet(flags.rounds, ["node", "bin/tenure.js", "--version"]);
  log(`tenure --version: ${round(startup.median_ms)} ms, peak RSS ${startup.peak_rss_mb} MB`);

  const endToEnd: EndToEnd[] = [];
  for (const method of [...NUMERIC_METHODS, ...CATEGORICAL_METHODS])
    endToEnd.push(await benchEndToEnd(method, files, flags.rounds, !("missing" in python)));

  log("computation alone: reading the files once in a Node process, then compareDatasets per method");
  const detail = await computeInNode(files, flags.rounds, scratch.dir);
  const scipyCompute = "missing" in python ? undefined : await computeInPython(files, flags.rounds);
  const compute: ComputeRow[] = [...NUMERIC_METHODS, ...CATEGORICAL_METHODS].map((method) => {
    const tenureMs = detail.compare[method]?.median_ms ?? Number.NaN;
    const scipyS = (scipyCompute?.[method] as { median_s?: number } | undefined)?.median_s;
    if (scipyS === undefined) return { method, tenure_ms: tenureMs };
    const r = tenureMs / (scipyS * 1000);
    return {
      method,
      tenure_ms: tenureMs,
      scipy_ms: round(scipyS * 1000, 3),
      ratio: round(r, 3),
      met: r <= TARGETS.compute_ratio,
    };
  });

  const ingest = flags["skip-ingest"]
    ? undefined
    : await benchIngest(
        {
          root: ROOT,
          database: scratch,
          connections: flags.connections,
          seconds: flags["ingest-seconds"],
          rounds: flags["ingest-rounds"],
          rowsPerBatch: flags["batch-rows"],
          log,
        },
        teardown,
      );

  return {
    bench: "drift",
    build,
    started_at: "",
    seconds: 0,
    machine: machineInfo(),
    options: flags,
    peers: {
      tenure_e2e: "node bin/tenure.js drift REF CUR --method M --json, a child process under /usr/bin/time",
      scipy_e2e: `${PYTHON} bench/lib/drift_scipy.py e2e M REF CUR: pandas.read_csv of both files + the SciPy call`,
      tenure_compute: "compareDatasets(reference, current, { method }) from dist/ on readDataset's data",
      scipy_compute:
        "the SciPy/numpy call on arrays already read (categorical: on aligned counts; value_counts timed apart)",
      ingest_floor:
        "bench/floor-server.ts --routes samples: bare Fastify 5, the same zod body schema, keeps nothing",
      merge_floor:
        "Float64Array.set of the same number[] batches; a Map<string, number> count of the same strings",
    },
    ...("missing" in python ? { scipy_missing: python.missing } : { scipy_versions: python.versions }),
    files: { rows: files.rows, bytes: files.bytes, generate_s: generateSeconds },
    startup: { tenure_version: startup },
    end_to_end: endToEnd,
    compute,
    compute_detail: detail,
    ...(scipyCompute ? { scipy_compute: scipyCompute } : {}),
    memory: memoryFigures(files, startup, endToEnd),
    ...(ingest ? { ingest } : {}),
    targets: TARGETS,
  };
}

async function scipyVersions(): Promise<{ versions: Record<string, string> } | { missing: string }> {
  if (!existsSync(PYTHON)) return { missing: `${PYTHON} is not installed` };
  try {
    const { stdout } = await promisify(execFile)(PYTHON, [
      "-c",
      "import json, sys, numpy, pandas, scipy; print(json.dumps({'python': sys.version.split()[0], " +
        "'numpy': numpy.__version__, 'pandas': pandas.__version__, 'scipy': scipy.__version__}))",
    ]);
    return { versions: JSON.parse(stdout) as Record<string, string> };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const missing = /No module named '([^']+)'/.exec(message)?.[1];
    return { missing: missing ? `${PYTHON} has no module ${missing}` : `${PYTHON} failed: ${message}` };
  }
}

/** Runs a command under /usr/bin/time: its wall time (spawn to exit), peak RSS and stdout. */
async function timedRun(command: string[]): Promise<Run & { stdout: string }> {
  const [program, ...args] = command;
  const executable = program === "node" ? process.execPath : (program as string);
  const child = spawn(TIME, ["-f", "%M", executable, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const started = process.hrtime.bigint();
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (exitCode) => resolve(exitCode));
  });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (code !== 0) throw new Error(`${command.join(" ")} exited with ${code}:\n${stderr.slice(-2000)}`);
  const kib = Number(stderr.trim().split("\n").at(-1));
  return { wall_ms: round(wallMs, 1), peak_rss_mb: round(kib / 1024, 1), stdout };
}

function runSetOf(runs: Run[]): RunSet {
  const walls = runs.map((r) => r.wall_ms);
  return {
    runs,
    median_ms: round(median(walls), 1),
    min_ms: Math.min(...walls),
    max_ms: Math.max(...walls),
    peak_rss_mb: Math.max(...runs.map((r) => r.peak_rss_mb)),
  };
}

async function runSet(rounds: number, command: string[]): Promise<RunSet> {
  const runs: Run[] = [];
  for (let i = 0; i < rounds; i++) {
    const { wall_ms, peak_rss_mb } = await timedRun(command);
    runs.push({ wall_ms, peak_rss_mb });
  }
  return runSetOf(runs);
}

/** What drift_scipy.py e2e prints. */
interface ScipyEndToEnd {
  import_s: number;
  read_s: number;
  compute_s: number;
  columns: Record<string, { statistic: number }>;
}

/** Tenure and SciPy on one method, alternating run by run so that a neighbour's load hits both. */
async function benchEndToEnd(
  method: BenchMethod,
  files: DriftFiles,
  rounds: number,
  withScipy: boolean,
): Promise<EndToEnd> {
  const numeric = (NUMERIC_METHODS as readonly string[]).includes(method);
  const [reference, current] = numeric
    ? [files.numeric_reference, files.numeric_current]
    : [files.categorical_reference, files.categorical_current];
  const tenureRuns: Run[] = [];
  const scipyRuns: Run[] = [];
  let tenureStatistic: number | null = null;
  let scipyOut: ScipyEndToEnd | undefined;
  for (let i = 0; i < rounds; i++) {
    const t = await timedRun([
      "node",
      "bin/tenure.js",
      "drift",
      reference,
      current,
      "--method",
      method,
      "--json",
    ]);
    tenureRuns.push({ wall_ms: t.wall_ms, peak_rss_mb: t.peak_rss_mb });
    tenureStatistic =
      (JSON.parse(t.stdout) as { columns: { statistic: number | null }[] }).columns[0]?.statistic ?? null;
    if (withScipy) {
      const s = await timedRun([PYTHON, SCIPY_SCRIPT, "e2e", method, reference, current]);
      scipyRuns.push({ wall_ms: s.wall_ms, peak_rss_mb: s.peak_rss_mb });
      scipyOut = JSON.parse(s.stdout) as ScipyEndToEnd;
    }
  }
  const tenure = runSetOf(tenureRuns);
  const entry: EndToEnd = {
    method,
    files: numeric ? "numeric" : "categorical",
    tenure,
    tenure_statistic: tenureStatistic,
  };
  if (scipyOut) {
    const scipy = runSetOf(scipyRuns);
    const r = tenure.median_ms / scipy.median_ms;
    Object.assign(entry, {
      scipy,
      ratio: round(r, 3),
      met: r <= TARGETS.e2e_ratio,
      scipy_statistic: Object.values(scipyOut.columns)[0]?.statistic ?? null,
      scipy_split: {
        import_s: round(scipyOut.import_s, 3),
        read_s: round(scipyOut.read_s, 3),
        compute_s: round(scipyOut.compute_s, 3),
      },
    });
  }
  log(
    `  ${method.padEnd(13)} tenure ${round(tenure.median_ms)} ms (peak RSS ${tenure.peak_rss_mb} MB)` +
      (entry.scipy
        ? `, scipy ${round(entry.scipy.median_ms)} ms (peak RSS ${entry.scipy.peak_rss_mb} MB): ${round(entry.ratio ?? 0, 2)}×; ` +
          `statistic ${entry.tenure_statistic} vs ${entry.scipy_statistic}`
        : ""),
  );
  return entry;
}

async function computeInNode(files: DriftFiles, rounds: number, dir: string): Promise<ComputeResult> {
  const filesJson = join(dir, "files.json");
  const out = join(dir, "compute.json");
  writeFileSync(filesJson, JSON.stringify(files));
  await promisify(execFile)(
    process.execPath,
    [
      "--import",
      "tsx",
      "bench/lib/drift-compute.ts",
      "--files",
      filesJson,
      "--rounds",
      String(rounds),
      "--out",
      out,
    ],
    { cwd: ROOT, maxBuffer: 1 << 24 },
  );
  return JSON.parse(readFileSync(out, "utf8")) as ComputeResult;
}

async function computeInPython(files: DriftFiles, rounds: number): Promise<Record<string, unknown>> {
  const { stdout } = await promisify(execFile)(
    PYTHON,
    [
      SCIPY_SCRIPT,
      "compute",
      String(rounds),
      files.numeric_reference,
      files.numeric_current,
      files.categorical_reference,
      files.categorical_current,
    ],
    { cwd: ROOT, maxBuffer: 1 << 24 },
  );
  return JSON.parse(stdout) as Record<string, unknown>;
}

function memoryFigures(files: DriftFiles, startup: RunSet, endToEnd: EndToEnd[]): MemoryFigures[] {
  const baseline = startup.peak_rss_mb;
  return (["numeric", "categorical"] as const).map((kind) => {
    const runs = endToEnd.filter((e) => e.files === kind);
    const bytes = (files.bytes[`${kind}_reference`] ?? 0) + (files.bytes[`${kind}_current`] ?? 0);
    const fileMb = bytes / 2 ** 20;
    const peak = Math.max(...runs.map((e) => e.tenure.peak_rss_mb));
    const growth = peak - baseline;
    const scipyPeaks = runs.flatMap((e) => (e.scipy ? [e.scipy.peak_rss_mb] : []));
    const values = kind === "numeric" ? (8 * files.rows * 2) / 2 ** 20 : undefined;
    return {
      files: kind,
      file_mb: round(fileMb, 1),
      baseline_mb: baseline,
      peak_mb: peak,
      growth_mb: round(growth, 1),
      peak_per_file: round(peak / fileMb, 2),
      growth_per_file: round(growth / fileMb, 2),
      ...(values === undefined
        ? {}
        : {
            values_mb: round(values, 1),
            peak_per_values: round(peak / values, 2),
            growth_per_values: round(growth / values, 2),
          }),
      ...(scipyPeaks.length > 0 ? { scipy_peak_mb: Math.max(...scipyPeaks) } : {}),
      met: growth / fileMb <= TARGETS.memory_ratio,
    };
  });
}
