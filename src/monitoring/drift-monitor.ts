import type { Dataset } from "../core/drift/compare.js";
import type { ColumnSample } from "../core/drift/detect.js";
import { ConflictError, InputError, NotFoundError, UnprocessableError } from "../core/errors.js";
import { addToCounts, addToReservoir, hashSeed, seededRandom } from "../core/reservoir.js";
import type { FeatureKind } from "../core/words.js";
import type { Actor } from "../registry/actor.js";
import type { Registry } from "../registry/registry.js";
import type { FeatureSummary, StoredSummary } from "../store/drift-store.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";

/** A reference keeps up to this many values per numeric feature: enough for KS and quantile bins. */
export const REFERENCE_CAPACITY = 10_000;
/** A day of live traffic keeps up to this many values per numeric feature. */
export const DAY_CAPACITY = 2_000;
/** Distinct categories kept per feature; the rest count as `__other__`. */
export const CATEGORY_CAPACITY = 1_000;

const DAY_MS = 86_400_000;

export type SampleRow = Record<string, number | string | boolean | null>;

/** A feature's values in a batch, split by kind; a feature with values of both kinds is an error. */
function columnsOf(
  rows: readonly SampleRow[],
): Map<string, { kind: FeatureKind; numbers: number[]; strings: string[] }> {
  const columns = new Map<string, { kind: FeatureKind; numbers: number[]; strings: string[] }>();
  for (const row of rows) {
    for (const [feature, value] of Object.entries(row)) {
      if (value === null) continue;
      const kind: FeatureKind = typeof value === "number" ? "numeric" : "categorical";
      let column = columns.get(feature);
      if (!column) {
        column = { kind, numbers: [], strings: [] };
        columns.set(feature, column);
      }
      if (column.kind !== kind) {
        throw new InputError(`feature ${feature} has both numbers and categories`, [
          {
            field: `rows.*.${feature}`,
            message: "must hold numbers only or categories (strings, booleans) only",
          },
        ]);
      }
      if (kind === "numeric") column.numbers.push(value as number);
      else column.strings.push(String(value));
    }
  }
  return columns;
}

/** Merges a batch's values of one feature into its bounded summary. */
function merge(
  stored: StoredSummary | undefined,
  feature: string,
  column: { kind: FeatureKind; numbers: number[]; strings: string[] },
  capacity: number,
  seed: string,
): StoredSummary {
  const seen = stored?.seen ?? 0;
  if (column.kind === "numeric") {
    const previous = stored?.summary.kind === "numeric" ? stored.summary.values : [];
    const random = seededRandom(hashSeed(`${seed}:${feature}:${seen}`));
    const next = addToReservoir(previous, seen, column.numbers, capacity, random);
    return { feature, seen: next.seen, summary: { kind: "numeric", values: next.reservoir } };
  }
  const previous = stored?.summary.kind === "categorical" ? stored.summary.counts : {};
  return {
    feature,
    seen: seen + column.strings.length,
    summary: { kind: "categorical", counts: addToCounts(previous, column.strings, CATEGORY_CAPACITY) },
  };
}

/**
 * Reference distributions and live feature samples: every feature of every deployment is kept
 * as a bounded summary (a reservoir of numbers, or category counts) per UTC day, so storage stays
 * flat at any traffic. The sweep compares the reference with the recent days.
 */
export class DriftMonitor {
  constructor(private readonly options: { stores: Stores; registry: Registry; clock: () => number }) {}

  /** Replaces a deployment's reference with a training sample's rows. */
  async putReference(id: number, actor: Actor, rows: readonly SampleRow[]): Promise<ReferenceView> {
    const now = this.options.clock();
    const row = await this.requireDeployment(id, actor);
    const columns = columnsOf(rows);
    if (columns.size === 0)
      throw new InputError("the reference holds no values", [{ field: "rows", message: "must hold values" }]);
    const features = [...columns].map(([feature, column]) =>
      merge(undefined, feature, column, REFERENCE_CAPACITY, `reference:${row.id}`),
    );
    await this.replaceReference(row, features, { field: "rows", at: now, actor });
    return referenceView(id, features, "upload");
  }

  /** Replaces a deployment's reference with a dataset read from a file (CSV or JSON Lines). */
  async putReferenceDataset(id: number, actor: Actor, dataset: Dataset): Promise<ReferenceView> {
    const now = this.options.clock();
    const row = await this.requireDeployment(id, actor);
    const features: StoredSummary[] = [];
    for (const [feature, column] of dataset) {
      if (column.kind === "numeric") {
        const random = seededRandom(hashSeed(`reference:${id}:${feature}`));
        const kept = addToReservoir([], 0, Array.from(column.values), REFERENCE_CAPACITY, random);
        features.push({ feature, seen: kept.seen, summary: { kind: "numeric", values: kept.reservoir } });
      } else {
        const counts: Record<string, number> = {};
        let seen = 0;
        for (const [category, n] of column.counts) {
          seen += n;
          const key =
            Object.keys(counts).length < CATEGORY_CAPACITY || category in counts ? category : "__other__";
          counts[key] = (counts[key] ?? 0) + n;
        }
        features.push({ feature, seen, summary: { kind: "categorical", counts } });
      }
    }
    const usable = features.filter((f) => f.seen > 0);
    if (usable.length === 0) throw new InputError("the reference holds no values");
    await this.replaceReference(row, usable, { field: "body", at: now, actor });
    return referenceView(id, usable, "upload");
  }

  /**
   * Replaces the reference in one transaction, refused whole when it would take the deployment
   * past its policy's `max_features` with the features its samples already name. Its audit row
   * (the features it holds now) is written in the same transaction.
   */
  private async replaceReference(
    row: DeploymentRow,
    features: StoredSummary[],
    { field, at, actor }: { field: string; at: number; actor: Actor },
  ) {
    const limit = this.options.registry.policyOf(row).drift.max_features;
    const names = features.map((f) => f.feature);
    refuseBeyond(limit, names, new Set(), row.id, field);
    await this.options.stores.transaction(async (tx) => {
      await tx.lockKeys([`tenure:drift ${row.id}`]);
      const drift = tx.drift;
      refuseBeyond(limit, names, await drift.featureNames(row.id, { reference: false }), row.id, field);
      await drift.putReference(row.id, features, "upload", at);
      await this.options.registry.audit.recordIn(
        tx,
        actor,
        "deployment.reference",
        { kind: "deployment", id: row.id },
        null,
        { deployment_id: row.id, source: "upload", features: names },
      );
    });
  }

  /** Adds a batch of live rows, for the UTC day of `timestamp` (default now). */
  async addSamples(
    id: number,
    actor: Actor,
    rows: readonly SampleRow[],
    timestamp?: number,
  ): Promise<{ deployment_id: number; accepted: number; day: string }> {
    const now = this.options.clock();
    const at = timestamp ?? now;
    if (at > now + 5 * 60_000) {
      throw new InputError("timestamp is in the future", [
        { field: "timestamp", message: "must not be more than 5 minutes after the server's time" },
      ]);
    }
    const row = await this.requireDeployment(id, actor);
    const columns = columnsOf(rows);
    const limit = this.options.registry.policyOf(row).drift.max_features;
    refuseBeyond(limit, [...columns.keys()], new Set(), id, "rows");
    const day = Math.floor(at / DAY_MS) * DAY_MS;
    await this.options.stores.transaction(async (tx) => {
      // One writer per deployment at a time: each batch reads the day's summaries and writes them back.
      await tx.lockKeys([`tenure:drift ${id}`]);
      const drift = tx.drift;
      const stored = await drift.daySamples(id, day);
      // Only a feature new to the day can be new to the deployment: most batches skip the count.
      const fresh = [...columns.keys()].filter((feature) => !stored.has(feature));
      if (fresh.length > 0)
        refuseBeyond(limit, fresh, await drift.featureNames(id, { reference: true }), id, "rows");
      const next: StoredSummary[] = [];
      for (const [feature, column] of columns) {
        const previous = stored.get(feature);
        if (previous && previous.summary.kind !== column.kind) {
          throw new InputError(`feature ${feature} was ${previous.summary.kind} earlier today`, [
            { field: `rows.*.${feature}`, message: `must stay ${previous.summary.kind}` },
          ]);
        }
        next.push(merge(previous, feature, column, DAY_CAPACITY, `day:${id}:${day}`));
      }
      await drift.putDaySamples(id, day, next, now);
    });
    return { deployment_id: id, accepted: rows.length, day: new Date(day).toISOString() };
  }

  async reference(id: number): Promise<ReferenceView> {
    const refs = (await this.options.stores.drift.references([id])).get(id) ?? [];
    if (refs.length === 0) throw new NotFoundError(`deployment ${id} has no drift reference yet`);
    return referenceView(id, refs, "stored");
  }

  private async requireDeployment(id: number, actor: Actor) {
    const row = await this.options.stores.deployments.findDeployment(id);
    if (!row) throw new NotFoundError(`deployment ${id} does not exist`);
    this.options.registry.assertTeam(actor, row.owner_team);
    if (row.status === "scheduled") throw new ConflictError(`deployment ${id} is scheduled, not live yet`);
    return row;
  }
}

/**
 * Refuses, before anything is stored, what would give a deployment more than `limit` features:
 * the `stored` ones and the new among `names`. One request must not create thousands of rows
 * that every sweep then reads.
 */
function refuseBeyond(
  limit: number,
  names: readonly string[],
  stored: ReadonlySet<string>,
  id: number,
  field: string,
): void {
  let total = stored.size;
  for (const name of names) if (!stored.has(name)) total++;
  if (total <= limit) return;
  const already = stored.size > 0 ? ` (${stored.size} stored, ${total - stored.size} new)` : "";
  throw new UnprocessableError(
    `deployment ${id} would have ${total} features${already}, more than its policy's drift max_features of ${limit}; nothing was stored`,
    [{ field, message: `a deployment may have at most ${limit} features (drift max_features)` }],
  );
}

export interface ReferenceView {
  deployment_id: number;
  source: string;
  features: { feature: string; kind: FeatureKind; seen: number; kept: number }[];
}

function referenceView(id: number, features: StoredSummary[], source: string): ReferenceView {
  return {
    deployment_id: id,
    source,
    features: features.map((f) => ({
      feature: f.feature,
      kind: f.summary.kind,
      seen: f.seen,
      kept: f.summary.kind === "numeric" ? f.summary.values.length : Object.keys(f.summary.counts).length,
    })),
  };
}

/** The drift module's dataset (typed arrays and count maps) from stored summaries, merged by feature. */
export function datasetOf(summaries: readonly { feature: string; summary: FeatureSummary }[]): Dataset {
  const numbers = new Map<string, number[]>();
  const counts = new Map<string, Map<string, number>>();
  for (const { feature, summary } of summaries) {
    if (summary.kind === "numeric")
      numbers.set(feature, [...(numbers.get(feature) ?? []), ...summary.values]);
    else {
      const map = counts.get(feature) ?? new Map<string, number>();
      for (const [category, n] of Object.entries(summary.counts))
        map.set(category, (map.get(category) ?? 0) + n);
      counts.set(feature, map);
    }
  }
  const dataset = new Map<string, ColumnSample>();
  for (const [feature, values] of numbers)
    dataset.set(feature, { kind: "numeric", values: Float64Array.from(values) });
  for (const [feature, map] of counts) dataset.set(feature, { kind: "categorical", counts: map });
  return dataset;
}
