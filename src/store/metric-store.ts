import { sql } from "kysely";
import type { WindowAggregate } from "../core/performance.js";
import { BoundStore } from "./bound-store.js";
import { readWindowAggregates } from "./metric-windows.js";
import { updateDeployments } from "./update-deployments.js";

export interface NewMetricPoint {
  name: string;
  value: number;
  timestamp: number;
  sample_size: number;
}

/** SQLite allows 32,766 parameters a statement: 2,000 points of six columns stay well under. */
const POINTS_PER_STATEMENT = 2000;

export interface MetricBaseline {
  deployment_id: number;
  name: string;
  value: number;
  source: "registration" | "learned";
  created_at: number;
}

/**
 * What proves a deployment still serves and still performs: liveness heartbeats, metric points,
 * baselines, and the performance state the sweep keeps on deployments.
 */
export interface MetricStore {
  /** Records a liveness heartbeat; false when the deployment is not live (or a later one is kept). */
  recordHeartbeat(deploymentId: number, at: number): Promise<boolean>;
  /**
   * Stores points; a point with the key of a stored one (deployment, name, timestamp) replaces
   * it, so a retried batch changes nothing and a corrected late label wins. Each point's UTC day
   * and UTC hour roll-ups follow in the same statement (triggers of migrations 0015 and 0020).
   */
  upsertPoints(deploymentId: number, points: NewMetricPoint[], receivedAt: number): Promise<void>;
  /**
   * Each deployment's windows of one metric in [`since`, `before`) (since the epoch by default):
   * sample count and Σ value × samples per window, windows aligned to the epoch. Windows of whole
   * hours are summed from the roll-ups (daily ones for windows of whole days, hourly ones for the
   * rest, and the raw points of the partial hours at the ends), so they include periods whose raw
   * points were pruned; other windows from the raw points.
   */
  windowAggregates(
    deploymentIds: number[],
    name: string,
    windowMs: number,
    before: number,
    since?: number,
  ): Promise<Map<number, WindowAggregate[]>>;
  /** The names of the metrics a deployment has points of (pruned ones included: their roll-ups stay). */
  metricNames(deploymentId: number): Promise<string[]>;
  /** The names of the metrics any of these deployments has points of, in order. */
  metricNamesOf(deploymentIds: number[]): Promise<string[]>;
  /** Inserts baselines, keeping any a deployment already has for that metric. */
  insertBaselines(rows: MetricBaseline[]): Promise<void>;
  /** Each deployment's baseline of one metric, by deployment id. */
  baselines(deploymentIds: number[], name: string): Promise<Map<number, number>>;
  /**
   * Keeps what the sweep found of each deployment's performance on the deployment itself, a
   * statement per 1,000 deployments.
   */
  setPerformance(
    updates: { id: number; state: string | null; ok_since: number | null; drop: number | null }[],
  ): Promise<void>;
  /**
   * Deletes the metric points measured before `before` (ms since the epoch), a group of
   * deployments at a time, each group its own statement; resolves with how many went. Their
   * daily and hourly roll-ups stay, so windows of whole hours stay judgeable over the whole history.
   */
  prunePoints(before: number, onGroup?: (deleted: number) => void): Promise<number>;
}

/**
 * Deployments whose old points one prune statement deletes: each statement walks the primary key
 * (deployment_id, name, timestamp) of these deployments only, so no statement scans the table or
 * holds SQLite's single write lock for long while a server writes.
 */
const PRUNE_GROUP = 200;

export class SqlMetricStore extends BoundStore implements MetricStore {
  async prunePoints(before: number, onGroup?: (deleted: number) => void): Promise<number> {
    let deleted = 0;
    for (let after = 0; ; ) {
      const ids = (
        await this.executor
          .selectFrom("deployments")
          .select("id")
          .where("id", ">", after)
          .orderBy("id")
          .limit(PRUNE_GROUP)
          .execute()
      ).map((row) => row.id);
      const last = ids.at(-1);
      if (last === undefined) return deleted;
      const result = await this.executor
        .deleteFrom("metric_points")
        .where("deployment_id", "in", ids)
        .where("timestamp", "<", before)
        .executeTakeFirst();
      const n = Number(result.numDeletedRows);
      deleted += n;
      onGroup?.(n);
      after = last;
    }
  }

  async recordHeartbeat(deploymentId: number, at: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("deployments")
      .set({ last_heartbeat_at: at })
      .where("id", "=", deploymentId)
      .where("status", "=", sql.lit("active"))
      // Heartbeats may arrive out of order: the latest wins.
      .where((eb) => eb.or([eb("last_heartbeat_at", "is", null), eb("last_heartbeat_at", "<", at)]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async upsertPoints(deploymentId: number, points: NewMetricPoint[], receivedAt: number): Promise<void> {
    for (let i = 0; i < points.length; i += POINTS_PER_STATEMENT) {
      const rows = points
        .slice(i, i + POINTS_PER_STATEMENT)
        .map((p) => ({ ...p, deployment_id: deploymentId, received_at: receivedAt }));
      await this.executor
        .insertInto("metric_points")
        .values(rows)
        .onConflict((oc) =>
          oc.columns(["deployment_id", "name", "timestamp"]).doUpdateSet((eb) => ({
            value: eb.ref("excluded.value"),
            sample_size: eb.ref("excluded.sample_size"),
            received_at: eb.ref("excluded.received_at"),
          })),
        )
        .execute();
    }
  }

  async windowAggregates(
    deploymentIds: number[],
    name: string,
    windowMs: number,
    before: number,
    since = 0,
  ): Promise<Map<number, WindowAggregate[]>> {
    return readWindowAggregates(this.executor, { deploymentIds, name, windowMs, before, since });
  }

  async metricNames(deploymentId: number): Promise<string[]> {
    const rows = await this.executor
      .selectFrom("metric_rollups")
      .select("name")
      .distinct()
      .where("deployment_id", "=", deploymentId)
      .orderBy("name")
      .execute();
    return rows.map((r) => r.name);
  }

  async metricNamesOf(deploymentIds: number[]): Promise<string[]> {
    if (deploymentIds.length === 0) return [];
    const rows = await this.executor
      .selectFrom("metric_rollups")
      .select("name")
      .distinct()
      .where("deployment_id", "in", deploymentIds)
      .orderBy("name")
      .execute();
    return rows.map((r) => r.name);
  }

  async insertBaselines(rows: MetricBaseline[]): Promise<void> {
    if (rows.length === 0) return;
    await this.executor
      .insertInto("metric_baselines")
      .values(rows)
      .onConflict((oc) => oc.columns(["deployment_id", "name"]).doNothing())
      .execute();
  }

  async baselines(deploymentIds: number[], name: string): Promise<Map<number, number>> {
    if (deploymentIds.length === 0) return new Map();
    const rows = await this.executor
      .selectFrom("metric_baselines")
      .select(["deployment_id", "value"])
      .where("deployment_id", "in", deploymentIds)
      .where("name", "=", name)
      .execute();
    return new Map(rows.map((r) => [r.deployment_id, Number(r.value)]));
  }

  async setPerformance(
    updates: { id: number; state: string | null; ok_since: number | null; drop: number | null }[],
  ): Promise<void> {
    await updateDeployments(
      this.executor,
      this.dialect,
      { performance_state: "text", performance_ok_since: "bigint", performance_drop: "double precision" },
      updates.map((u) => ({
        id: u.id,
        performance_state: u.state,
        performance_ok_since: u.ok_since,
        performance_drop: u.drop,
      })),
    );
  }
}
