import { sql } from "kysely";
import type { WindowAggregate } from "../core/performance.js";
import type { Database, Executor } from "./database.js";

export interface NewMetricPoint {
  name: string;
  value: number;
  timestamp: number;
  sample_size: number;
}

/** SQLite allows 32,766 parameters a statement: 2,000 points of six columns stay well under. */
const POINTS_PER_STATEMENT = 2000;

/** Metric points, baselines and the performance state the sweep keeps on deployments. */
export class MetricStore {
  constructor(
    database: Database,
    private readonly executor: Executor = database.db,
  ) {}

  /**
   * Stores points; a point with the key of a stored one (deployment, name, timestamp) replaces
   * it, so a retried batch changes nothing and a corrected late label wins.
   */
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

  /**
   * Each deployment's windows of one metric before `before`: sample count and Σ value × samples
   * per window, windows aligned to the epoch. Integer division floors the non-negative
   * timestamps alike on both databases.
   */
  async windowAggregates(
    deploymentIds: number[],
    name: string,
    windowMs: number,
    before: number,
  ): Promise<Map<number, WindowAggregate[]>> {
    const result = new Map<number, WindowAggregate[]>();
    if (deploymentIds.length === 0) return result;
    const index = sql<number>`${sql.ref("timestamp")} / ${sql.lit(windowMs)}`;
    const rows = await this.executor
      .selectFrom("metric_points")
      .select([
        "deployment_id",
        index.as("window_index"),
        (eb) => eb.fn.sum<number>("sample_size").as("samples"),
        sql<number>`sum(${sql.ref("value")} * ${sql.ref("sample_size")})`.as("weighted_sum"),
      ])
      .where("deployment_id", "in", deploymentIds)
      .where("name", "=", name)
      .where("timestamp", ">=", 0)
      .where("timestamp", "<", before)
      .groupBy(["deployment_id", index])
      .execute();
    for (const row of rows) {
      const list = result.get(row.deployment_id) ?? [];
      list.push({
        index: Number(row.window_index),
        samples: Number(row.samples),
        weighted_sum: Number(row.weighted_sum),
      });
      result.set(row.deployment_id, list);
    }
    return result;
  }

  /** The names of the metrics a deployment has points of. */
  async metricNames(deploymentId: number): Promise<string[]> {
    const rows = await this.executor
      .selectFrom("metric_points")
      .select("name")
      .distinct()
      .where("deployment_id", "=", deploymentId)
      .orderBy("name")
      .execute();
    return rows.map((r) => r.name);
  }

  async insertBaselines(
    rows: {
      deployment_id: number;
      name: string;
      value: number;
      source: "registration" | "learned";
      created_at: number;
    }[],
  ): Promise<void> {
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

  /** Keeps what the sweep found of each deployment's performance on the deployment itself. */
  async setPerformance(
    updates: { id: number; state: string | null; ok_since: number | null; drop: number | null }[],
  ): Promise<void> {
    for (const u of updates) {
      await this.executor
        .updateTable("deployments")
        .set({ performance_state: u.state, performance_ok_since: u.ok_since, performance_drop: u.drop })
        .where("id", "=", u.id)
        .execute();
    }
  }
}
