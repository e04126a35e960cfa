import { stat } from "node:fs/promises";
import { type Command, InvalidArgumentError } from "commander";
import { type ColumnDrift, compareDatasets, type DatasetDrift } from "../core/drift/compare.js";
import { DRIFT_METHODS, type DriftMethod } from "../core/drift/detect.js";
import { InputError } from "../core/errors.js";
import type { KindOverride } from "../monitoring/column-builder.js";
import { type DatasetFile, readDataset } from "../monitoring/dataset-reader.js";
import { table } from "./format.js";
import { GateFailed } from "./gate-failed.js";
import { type Io, printJson } from "./io.js";
import { oneOf, positiveInt } from "./options.js";
import { progressBar } from "./progress.js";

interface DriftFlags {
  columns?: string[];
  method?: DriftMethod;
  kind?: Map<string, KindOverride>;
  bins?: number;
  threshold?: number;
  driftShare?: number;
  failOn?: FailOn;
  json?: boolean;
}

/** What `--fail-on` gates on: a column at this state or worse. */
const FAIL_ON = ["possible", "drifted"] as const;
type FailOn = (typeof FAIL_ON)[number];

/** `tenure drift REFERENCE CURRENT`: compares two data files column by column, with no server. */
export function driftCommand(program: Command, io: Io): void {
  program
    .command("drift")
    .summary("compare two CSV or JSON Lines files for data drift, column by column")
    .argument("<reference>", "the reference data: .csv or .jsonl/.ndjson (else detected from the content)")
    .argument("<current>", "the current data, in either format")
    .option("--columns <a,b>", "only these columns (comma-separated)", columnList)
    .option(
      "--method <method>",
      `one method for every column: ${DRIFT_METHODS.join("|")}`,
      oneOf("--method", DRIFT_METHODS),
    )
    .option(
      "--kind <column=kind>",
      "read a column as numeric or categorical (repeatable)",
      kindFlag,
      new Map(),
    )
    .option(
      "--bins <n>",
      "bins for PSI and Jensen–Shannon on numbers (default 10)",
      positiveInt("--bins", 1000),
    )
    .option(
      "--threshold <x>",
      "the threshold for every column: a p-value for tests, a score for distances",
      fraction("--threshold", false),
    )
    .option(
      "--drift-share <x>",
      "the share of drifted columns at which the dataset drifted (default 0.5)",
      fraction("--drift-share", true),
    )
    .option(
      "--fail-on <state>",
      "CI gate: exit 1 when a column is possible (or drifted), or drifted; without it, exit 0",
      oneOf("--fail-on", FAIL_ON),
    )
    .option("--json", "print {columns, drifted_share, dataset_drift, …} as JSON")
    .action(async (referencePath: string, currentPath: string, flags: DriftFlags) => {
      if (flags.bins !== undefined && flags.bins < 2) throw new InputError("--bins must be at least 2");
      // Files of millions of rows take a while to read: on a terminal, a bar over their bytes.
      const progress = await progressBar(io, "bytes");
      const options = {
        columns: flags.columns,
        kinds: flags.kind,
        onRead: progress.active ? (bytes: number) => progress.increment(bytes) : undefined,
      };
      if (progress.active) progress.start("reading", await totalSize([referencePath, currentPath]));
      let reference: DatasetFile;
      let current: DatasetFile;
      try {
        [reference, current] = await Promise.all([
          readDataset(referencePath, options),
          readDataset(currentPath, options),
        ]);
      } finally {
        progress.stop();
      }
      const columns = columnsToCompare(reference, current, flags.columns);
      const result = compareDatasets(reference.data, current.data, {
        columns,
        method: flags.method,
        bins: flags.bins,
        threshold: flags.threshold,
        driftShare: flags.driftShare,
        // This run owns what it read: sorting in place spares a copy of every numeric column.
        sortInPlace: true,
      });
      if (flags.json) printJson(io, result);
      else io.out(report(result));
      if (flags.failOn) failOn(flags.failOn, result);
    });
}

/** The bytes of the files, for the bar; a file that cannot be read counts for none (readDataset says why). */
async function totalSize(paths: string[]): Promise<number> {
  const sizes = await Promise.all(
    paths.map((p) =>
      stat(p).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((sum, size) => sum + size, 0);
}

/**
 * The gate judges columns, not the dataset verdict: one drifted feature is enough to hold a
 * release, whatever share of the others moved. Each column's own state counts (not the
 * Benjamini–Hochberg one), as the table shows it; a column with too few rows is stable.
 */
function failOn(level: FailOn, result: DatasetDrift): void {
  const failing = result.columns.filter(
    (c) => c.state === "drifted" || (level === "possible" && c.state === "possible"),
  );
  if (failing.length === 0) return;
  const states = level === "possible" ? "possible or drifted" : "drifted";
  throw new GateFailed(
    `--fail-on ${level}: ${failing.length} of ${result.columns.length} column(s) ${states} (${failing.map((c) => c.column).join(", ")})`,
  );
}

/** The columns in both files (in the reference's order), or the named ones, which must be in both. */
function columnsToCompare(
  reference: DatasetFile,
  current: DatasetFile,
  wanted: string[] | undefined,
): string[] {
  if (wanted) {
    for (const name of wanted) {
      for (const file of [reference, current]) {
        if (!file.header.includes(name))
          throw new InputError(`column ${JSON.stringify(name)} is not in ${file.path}`);
      }
    }
    return wanted;
  }
  const common = reference.header.filter((name) => current.header.includes(name));
  if (common.length === 0)
    throw new InputError(`${reference.path} and ${current.path} have no column in common`);
  return common;
}

function columnList(value: string): string[] {
  const names = value.split(",").map((name) => name.trim());
  if (names.some((name) => name === ""))
    throw new InvalidArgumentError("--columns must be names separated by commas");
  return names;
}

function kindFlag(value: string, previous: Map<string, KindOverride> | undefined): Map<string, KindOverride> {
  const match = /^(.+)=(numeric|categorical)$/.exec(value);
  if (!match?.[1] || !match[2])
    throw new InvalidArgumentError("--kind must be COLUMN=numeric or COLUMN=categorical");
  return new Map(previous ?? []).set(match[1], match[2] as KindOverride);
}

function fraction(name: string, upToOne: boolean) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || (upToOne && n > 1)) {
      throw new InvalidArgumentError(`${name} must be a number above 0${upToOne ? " and at most 1" : ""}`);
    }
    return n;
  };
}

/** Four significant digits; tiny p-values in exponent form. */
function formatNumber(value: number | null): string {
  if (value === null) return "-";
  if (value === 0 || (Math.abs(value) >= 1e-4 && Math.abs(value) < 1e6))
    return String(Number(value.toPrecision(4)));
  return value.toExponential(2);
}

function stateLabel(column: ColumnDrift): string {
  return column.insufficient ? `${column.state} (too few rows)` : column.state;
}

/** The table of columns, then the dataset verdict and its Benjamini–Hochberg view. */
function report(result: DatasetDrift): string {
  const rows = result.columns.map((c) => [
    c.column,
    c.kind,
    c.method,
    formatNumber(c.statistic),
    formatNumber(c.p_value),
    formatNumber(c.score),
    formatNumber(c.threshold),
    formatNumber(c.noise_floor),
    `${c.reference_size}/${c.current_size}`,
    stateLabel(c),
  ]);
  const headers = [
    "COLUMN",
    "KIND",
    "METHOD",
    "STATISTIC",
    "P-VALUE",
    "SCORE",
    "THRESHOLD",
    "NOISE FLOOR",
    "ROWS",
    "STATE",
  ];
  const total = result.columns.length;
  const verdict = (share: number, drift: boolean) =>
    `${Math.round(share * total)} of ${total} column(s) drifted (${Math.round(share * 100)}%): ${drift ? "dataset drift" : "no dataset drift"}`;
  const bh = result.benjamini_hochberg;
  return [
    table(headers, rows).trimEnd(),
    "",
    `dataset: ${verdict(result.drifted_share, result.dataset_drift)} (drift share ${result.drift_share})`,
    `benjamini-hochberg (fdr ${bh.fdr}): ${verdict(bh.drifted_share, bh.dataset_drift)}`,
    "",
  ].join("\n");
}
