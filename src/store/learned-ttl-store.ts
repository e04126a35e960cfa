import { sql } from "kysely";
import { BoundStore } from "./bound-store.js";
import type { DeploymentRow, LearnedTtlRow } from "./schema.js";
import { chunks } from "./write-chunks.js";

/** A model in an environment. */
export interface ModelEnvironment {
  model: string;
  environment: string;
}

/**
 * What a model's learned TTL is learned from and kept in: the models with live deployments, their
 * started deployments read for many models at once, and the TTL each sweep learned (one row per
 * model, environment and `auto` policy).
 */
export interface LearnedTtlStore {
  /** Every model and environment with a live deployment, sorted; optionally one model's or one environment's. */
  liveModelEnvironments(filter?: Partial<ModelEnvironment>): Promise<ModelEnvironment[]>;
  /**
   * The started deployments (deployed by `now`, not scheduled) of each model and environment in
   * `pairs`, the newest `perPair` of each, oldest first: one query for all of them.
   */
  startedDeploymentsOf(pairs: ModelEnvironment[], now: number, perPair: number): Promise<DeploymentRow[]>;
  listLearnedTtls(): Promise<LearnedTtlRow[]>;
  findLearnedTtl(key: ModelEnvironment & { policy: string }): Promise<LearnedTtlRow | undefined>;
  /** Writes each row over the one of its model, environment and policy. */
  upsertLearnedTtls(rows: LearnedTtlRow[]): Promise<void>;
}

/** Models named in one query at most: bounded statements. */
const MODELS_PER_QUERY = 500;

export class SqlLearnedTtlStore extends BoundStore implements LearnedTtlStore {
  async liveModelEnvironments(filter: Partial<ModelEnvironment> = {}): Promise<ModelEnvironment[]> {
    let query = this.executor
      .selectFrom("deployments")
      .select(["model", "environment"])
      .distinct()
      .where("status", "=", sql.lit("active"));
    if (filter.model !== undefined) query = query.where("model", "=", filter.model);
    if (filter.environment !== undefined) query = query.where("environment", "=", filter.environment);
    return query.orderBy("model").orderBy("environment").execute();
  }

  async startedDeploymentsOf(
    pairs: ModelEnvironment[],
    now: number,
    perPair: number,
  ): Promise<DeploymentRow[]> {
    const wanted = new Set(pairs.map((p) => `${p.model}\u0000${p.environment}`));
    const models = [...new Set(pairs.map((p) => p.model))];
    const out: DeploymentRow[] = [];
    for (let i = 0; i < models.length; i += MODELS_PER_QUERY) {
      const ranked = this.executor
        .selectFrom("deployments")
        .selectAll()
        .select(
          sql<number>`row_number() over (partition by model, environment order by deployment_date desc, id desc)`.as(
            "newest",
          ),
        )
        .where("model", "in", models.slice(i, i + MODELS_PER_QUERY))
        .where("deployment_date", "<=", now)
        .where("status", "<>", sql.lit("scheduled"))
        .as("ranked");
      const rows = await this.executor
        .selectFrom(ranked)
        .selectAll()
        .where("newest", "<=", perPair)
        .orderBy("model")
        .orderBy("environment")
        .orderBy("deployment_date")
        .orderBy("id")
        .execute();
      for (const { newest: _newest, ...row } of rows) {
        if (wanted.has(`${row.model}\u0000${row.environment}`)) out.push(row as DeploymentRow);
      }
    }
    return out;
  }

  async listLearnedTtls(): Promise<LearnedTtlRow[]> {
    return this.executor
      .selectFrom("learned_ttls")
      .selectAll()
      .orderBy("model")
      .orderBy("environment")
      .execute();
  }

  async findLearnedTtl(key: ModelEnvironment & { policy: string }): Promise<LearnedTtlRow | undefined> {
    return this.executor
      .selectFrom("learned_ttls")
      .selectAll()
      .where("model", "=", key.model)
      .where("environment", "=", key.environment)
      .where("policy", "=", key.policy)
      .executeTakeFirst();
  }

  async upsertLearnedTtls(rows: LearnedTtlRow[]): Promise<void> {
    for (const [start, end] of chunks(rows.length)) {
      await this.executor
        .insertInto("learned_ttls")
        .values(rows.slice(start, end))
        .onConflict((oc) =>
          oc.columns(["model", "environment", "policy"]).doUpdateSet((eb) => ({
            ttl_seconds: eb.ref("excluded.ttl_seconds"),
            reason: eb.ref("excluded.reason"),
            evidence: eb.ref("excluded.evidence"),
            learned_at: eb.ref("excluded.learned_at"),
          })),
        )
        .execute();
    }
  }
}
