/**
 * Compares a reference dataset with a current one, column by column, and gives the dataset
 * verdict: the share of drifted columns against `drift_share` (0.5 by default, Evidently's
 * `DatasetDriftMetric`), and beside it a Benjamini–Hochberg view in which the tests' p-values are
 * adjusted for the number of columns tested. Pure: the data comes in, the result goes out.
 */

import { InputError } from "../errors.js";
import { benjaminiHochberg } from "./benjamini-hochberg.js";
import {
  type ColumnKind,
  type ColumnSample,
  DEFAULT_P_THRESHOLD,
  type DriftMethod,
  type DriftState,
  defaultMethod,
  defaultThreshold,
  detectKind,
  isTest,
  judgeDistance,
  judgeTest,
  MIN_SAMPLE_SIZE,
  needsNumbers,
} from "./detect.js";
import { measureColumn } from "./measure.js";

/** A dataset: its columns in order, each with its values. */
export type Dataset = ReadonlyMap<string, ColumnSample>;

/** How to compare. */
export interface CompareOptions {
  /** Only these columns, in this order (default: the reference's columns found in both). */
  columns?: readonly string[];
  /** One method for every column (default: Evidently's rule per column). */
  method?: DriftMethod;
  /**
   * Where `method` needs numbers (ks, wasserstein), columns of categories take Evidently's rule
   * rather than being refused: one method named for a dataset of both kinds (a policy's).
   */
  categoriesByDefault?: boolean;
  /** Bins for PSI and Jensen–Shannon on numbers (default 10). */
  bins?: number;
  /** The threshold for every column: a p-value for tests, a score for distances. */
  threshold?: number;
  /** The share of drifted columns at which the dataset drifted (default 0.5). */
  driftShare?: number;
  /** Sort the datasets' number arrays in place rather than copies: for a caller that owns them (a CLI run). */
  sortInPlace?: boolean;
}

/** One column's result; the field names are the JSON's. */
export interface ColumnDrift {
  column: string;
  kind: ColumnKind;
  method: DriftMethod;
  /** What the SciPy function of the method's name returns (W₁ itself for wasserstein; PSI has none). */
  statistic: number | null;
  /** SciPy's p-value for tests; null for distances. */
  p_value: number | null;
  /** What is judged: the p-value for tests, W₁/σ_reference for wasserstein, the statistic otherwise. */
  score: number | null;
  threshold: number;
  state: DriftState;
  reference_size: number;
  current_size: number;
  /** The score two no-drift samples of these sizes stay below 95% of the time (distances only). */
  noise_floor: number | null;
  /** The Benjamini–Hochberg adjusted p-value among all tested columns (tests only). */
  p_value_adjusted: number | null;
  /** The state with the adjusted p-value (the same as `state` for distances). */
  state_adjusted: DriftState;
  /** Too few rows to judge: the state is stable whatever the numbers say. */
  insufficient: boolean;
}

/** The dataset verdict and every column's result. */
export interface DatasetDrift {
  columns: ColumnDrift[];
  drifted_share: number;
  dataset_drift: boolean;
  drift_share: number;
  benjamini_hochberg: { fdr: number; drifted_share: number; dataset_drift: boolean };
}

/** Compares `current` with `reference`; throws InputError for a column missing from one side or a method that cannot apply. */
export function compareDatasets(
  reference: Dataset,
  current: Dataset,
  options: CompareOptions = {},
): DatasetDrift {
  const names = columnsToCompare(reference, current, options.columns);
  const columns = names.map((name) =>
    compareColumn(name, reference.get(name) as ColumnSample, current.get(name) as ColumnSample, options),
  );
  const fdr = options.threshold ?? DEFAULT_P_THRESHOLD;
  adjustForMultipleTests(columns);
  const driftShare = options.driftShare ?? 0.5;
  const share = (states: DriftState[]) =>
    states.length === 0 ? 0 : states.filter((s) => s === "drifted").length / states.length;
  const drifted = share(columns.map((c) => c.state));
  const driftedAdjusted = share(columns.map((c) => c.state_adjusted));
  return {
    columns,
    drifted_share: drifted,
    dataset_drift: columns.length > 0 && drifted >= driftShare,
    drift_share: driftShare,
    benjamini_hochberg: {
      fdr,
      drifted_share: driftedAdjusted,
      dataset_drift: columns.length > 0 && driftedAdjusted >= driftShare,
    },
  };
}

function columnsToCompare(
  reference: Dataset,
  current: Dataset,
  wanted: readonly string[] | undefined,
): string[] {
  if (wanted) {
    for (const name of wanted) {
      if (!reference.has(name))
        throw new InputError(`column ${JSON.stringify(name)} is not in the reference data`);
      if (!current.has(name))
        throw new InputError(`column ${JSON.stringify(name)} is not in the current data`);
    }
    return [...wanted];
  }
  const common = [...reference.keys()].filter((name) => current.has(name));
  if (common.length === 0) throw new InputError("the reference and current data have no column in common");
  return common;
}

function compareColumn(
  name: string,
  reference: ColumnSample,
  current: ColumnSample,
  options: CompareOptions,
): ColumnDrift {
  const kind = detectKind(reference, current);
  const referenceSize = sizeOf(reference);
  const currentSize = sizeOf(current);
  let method = options.method ?? defaultMethod(kind, referenceSize);
  // A threshold given for the named method means nothing to the one a column falls back to.
  let threshold = options.threshold ?? defaultThreshold(method);
  if (needsNumbers(method) && (reference.kind !== "numeric" || current.kind !== "numeric")) {
    if (!options.categoriesByDefault)
      throw new InputError(
        `--method ${method} needs numbers, but column ${JSON.stringify(name)} holds categories`,
      );
    method = defaultMethod(kind, referenceSize);
    threshold = defaultThreshold(method);
  }
  const empty = referenceSize === 0 || currentSize === 0;
  const measured = empty
    ? undefined
    : measureColumn(method, kind, reference, current, options.bins, options.sortInPlace);
  const insufficient = empty || Math.min(referenceSize, currentSize) < MIN_SAMPLE_SIZE;
  let state: DriftState = "stable";
  if (measured && !insufficient) {
    state = isTest(method)
      ? judgeTest(measured.score, threshold)
      : judgeDistance(measured.score, threshold, measured.noiseFloor ?? 0);
  }
  // The JSON's documented fields first, in their documented order.
  return {
    column: name,
    kind,
    method,
    statistic: measured?.statistic ?? null,
    p_value: measured?.pvalue ?? null,
    score: measured?.score ?? null,
    threshold,
    state,
    reference_size: referenceSize,
    current_size: currentSize,
    noise_floor: measured?.noiseFloor ?? null,
    p_value_adjusted: null,
    state_adjusted: state,
    insufficient,
  };
}

function sizeOf(sample: ColumnSample): number {
  if (sample.kind === "numeric") return sample.values.length;
  let total = 0;
  for (const count of sample.counts.values()) total += count;
  return total;
}

/** Fills in the BH-adjusted p-values and states of the tested columns. */
function adjustForMultipleTests(columns: ColumnDrift[]): void {
  const tested = columns.filter((c) => c.p_value !== null);
  const adjusted = benjaminiHochberg(tested.map((c) => c.p_value as number));
  tested.forEach((column, i) => {
    const p = adjusted[i] as number;
    column.p_value_adjusted = p;
    column.state_adjusted = column.insufficient ? "stable" : judgeTest(p, column.threshold);
  });
}
