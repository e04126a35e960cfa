import type { FeatureKind } from "../core/words.js";
import { BoundStore } from "./bound-store.js";
import { parseJsonColumn } from "./json-columns.js";

/** A feature's bounded summary: a reservoir of numbers, or category counts. */
export type FeatureSummary =
  | { kind: "numeric"; values: number[] }
  | { kind: "categorical"; counts: Record<string, number> };

export interface StoredSummary {
  feature: string;
  seen: number;
  summary: FeatureSummary;
}

const encode = (summary: FeatureSummary) =>
  JSON.stringify(summary.kind === "numeric" ? summary.values : summary.counts);

function decode(kind: FeatureKind, text: string): FeatureSummary {
  return kind === "numeric"
    ? { kind, values: parseJsonColumn("numeric_summary", text) }
    : { kind, counts: parseJsonColumn("categorical_summary", text) };
}

export interface DaySample extends StoredSummary {
  day: number;
}

/** References and live samples for drift, each a bounded summary per deployment and feature. */
export interface DriftStore {
  /** Each deployment's reference, feature by feature (by name). */
  references(deploymentIds: number[]): Promise<Map<number, StoredSummary[]>>;
  /** The features a deployment's live samples name, on any day, and with `reference` its reference's too. */
  featureNames(deploymentId: number, include: { reference: boolean }): Promise<Set<string>>;
  /** Replaces a deployment's reference, feature by feature, with what was given. */
  putReference(deploymentId: number, features: StoredSummary[], source: string, at: number): Promise<void>;
  /** A deployment's live summaries of one day, by feature. */
  daySamples(deploymentId: number, day: number): Promise<Map<string, StoredSummary>>;
  /** Replaces a deployment's live summaries of one day, feature by feature. */
  putDaySamples(deploymentId: number, day: number, features: StoredSummary[], at: number): Promise<void>;
  /** Live summaries of these deployments for the days in [fromDay, toDay], per deployment, by day. */
  samplesBetween(deploymentIds: number[], fromDay: number, toDay: number): Promise<Map<number, DaySample[]>>;
  /** The first day of live samples of a deployment, if any. */
  firstDay(deploymentId: number): Promise<number | undefined>;
  /** Keeps the drift verdict of each deployment on the deployment itself. */
  setDriftState(updates: { id: number; state: string | null }[]): Promise<void>;
}

export class SqlDriftStore extends BoundStore implements DriftStore {
  async references(deploymentIds: number[]): Promise<Map<number, StoredSummary[]>> {
    const result = new Map<number, StoredSummary[]>();
    if (deploymentIds.length === 0) return result;
    const rows = await this.executor
      .selectFrom("drift_references")
      .selectAll()
      .where("deployment_id", "in", deploymentIds)
      .orderBy("feature")
      .execute();
    for (const row of rows) {
      const list = result.get(row.deployment_id) ?? [];
      list.push({ feature: row.feature, seen: Number(row.seen), summary: decode(row.kind, row.summary) });
      result.set(row.deployment_id, list);
    }
    return result;
  }

  /** The features a deployment's live samples name, on any day, and with `reference` its reference's too. */
  async featureNames(deploymentId: number, include: { reference: boolean }): Promise<Set<string>> {
    const samples = this.executor
      .selectFrom("drift_samples")
      .select("feature")
      .where("deployment_id", "=", deploymentId);
    const query = include.reference
      ? samples.union(
          this.executor
            .selectFrom("drift_references")
            .select("feature")
            .where("deployment_id", "=", deploymentId),
        )
      : samples.distinct();
    return new Set((await query.execute()).map((row) => row.feature));
  }

  async putReference(
    deploymentId: number,
    features: StoredSummary[],
    source: string,
    at: number,
  ): Promise<void> {
    await this.executor.deleteFrom("drift_references").where("deployment_id", "=", deploymentId).execute();
    if (features.length === 0) return;
    await this.executor
      .insertInto("drift_references")
      .values(
        features.map((f) => ({
          deployment_id: deploymentId,
          feature: f.feature,
          kind: f.summary.kind,
          seen: f.seen,
          summary: encode(f.summary),
          source,
          created_at: at,
        })),
      )
      .execute();
  }

  async daySamples(deploymentId: number, day: number): Promise<Map<string, StoredSummary>> {
    const rows = await this.executor
      .selectFrom("drift_samples")
      .selectAll()
      .where("deployment_id", "=", deploymentId)
      .where("day", "=", day)
      .execute();
    return new Map(
      rows.map((row) => [
        row.feature,
        { feature: row.feature, seen: Number(row.seen), summary: decode(row.kind, row.summary) },
      ]),
    );
  }

  async putDaySamples(
    deploymentId: number,
    day: number,
    features: StoredSummary[],
    at: number,
  ): Promise<void> {
    for (const f of features) {
      const values = { kind: f.summary.kind, seen: f.seen, summary: encode(f.summary), updated_at: at };
      await this.executor
        .insertInto("drift_samples")
        .values({ deployment_id: deploymentId, feature: f.feature, day, ...values })
        .onConflict((oc) => oc.columns(["deployment_id", "feature", "day"]).doUpdateSet(values))
        .execute();
    }
  }

  async samplesBetween(
    deploymentIds: number[],
    fromDay: number,
    toDay: number,
  ): Promise<Map<number, DaySample[]>> {
    const result = new Map<number, DaySample[]>();
    if (deploymentIds.length === 0) return result;
    const rows = await this.executor
      .selectFrom("drift_samples")
      .selectAll()
      .where("deployment_id", "in", deploymentIds)
      .where("day", ">=", fromDay)
      .where("day", "<=", toDay)
      .orderBy("day")
      .execute();
    for (const row of rows) {
      const list = result.get(row.deployment_id) ?? [];
      list.push({
        day: Number(row.day),
        feature: row.feature,
        seen: Number(row.seen),
        summary: decode(row.kind, row.summary),
      });
      result.set(row.deployment_id, list);
    }
    return result;
  }

  async firstDay(deploymentId: number): Promise<number | undefined> {
    const row = await this.executor
      .selectFrom("drift_samples")
      .select((eb) => eb.fn.min("day").as("day"))
      .where("deployment_id", "=", deploymentId)
      .executeTakeFirst();
    return row?.day === null || row?.day === undefined ? undefined : Number(row.day);
  }

  async setDriftState(updates: { id: number; state: string | null }[]): Promise<void> {
    for (const u of updates) {
      await this.executor
        .updateTable("deployments")
        .set({ drift_state: u.state })
        .where("id", "=", u.id)
        .execute();
    }
  }
}
