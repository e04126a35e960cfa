import { sql } from "kysely";
import { BoundStore } from "./bound-store.js";
import type { EventRow, LearnedTtlRow } from "./schema.js";
import { chunks } from "./write-chunks.js";

/** A model in an environment. */
export interface ModelEnvironment {
  model: string;
  environment: string;
}

/** The TTL in force last told to a learned TTL's deployments, within its bounds (JSON), at `at`. */
export interface AnnouncedTtl {
  ttl_seconds: number;
  bounds: string;
  at: number;
}

/**
 * What a model's learned TTL is learned for and kept in: the models with live deployments, and the
 * TTL each sweep learned (one row per model, environment and `auto` policy). Their started
 * deployments are read by ForecastStore.startedDeploymentsOf.
 */
export interface LearnedTtlStore {
  /** Every model and environment with a live deployment, sorted; optionally one model's or one environment's. */
  liveModelEnvironments(filter?: Partial<ModelEnvironment>): Promise<ModelEnvironment[]>;
  listLearnedTtls(): Promise<LearnedTtlRow[]>;
  findLearnedTtl(key: ModelEnvironment & { policy: string }): Promise<LearnedTtlRow | undefined>;
  /**
   * Writes each row over the one of its model, environment and policy; a row's null
   * `announced_ttl_seconds` keeps the announcement stored (a sweep that changed no TTL in force).
   */
  upsertLearnedTtls(rows: LearnedTtlRow[]): Promise<void>;
  /** Records the TTL in force its live deployments were last told of (see migration 0021). */
  announceLearnedTtl(key: ModelEnvironment & { policy: string }, announced: AnnouncedTtl): Promise<void>;
  /**
   * The newest event of `type` of each deployment named that has one: the TTL change each was last
   * told of (`learned_ttl_changed`), so a change another replica recorded is not recorded twice.
   */
  latestEventsOf(type: string, deploymentIds: number[]): Promise<EventRow[]>;
}

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
            announced_ttl_seconds: eb.fn.coalesce(
              eb.ref("excluded.announced_ttl_seconds"),
              eb.ref("learned_ttls.announced_ttl_seconds"),
            ),
            announced_bounds: eb.fn.coalesce(
              eb.ref("excluded.announced_bounds"),
              eb.ref("learned_ttls.announced_bounds"),
            ),
            announced_at: eb.fn.coalesce(
              eb.ref("excluded.announced_at"),
              eb.ref("learned_ttls.announced_at"),
            ),
          })),
        )
        .execute();
    }
  }

  async announceLearnedTtl(
    key: ModelEnvironment & { policy: string },
    announced: AnnouncedTtl,
  ): Promise<void> {
    await this.executor
      .updateTable("learned_ttls")
      .set({
        announced_ttl_seconds: announced.ttl_seconds,
        announced_bounds: announced.bounds,
        announced_at: announced.at,
      })
      .where("model", "=", key.model)
      .where("environment", "=", key.environment)
      .where("policy", "=", key.policy)
      .execute();
  }

  async latestEventsOf(type: string, deploymentIds: number[]): Promise<EventRow[]> {
    const events: EventRow[] = [];
    for (const [start, end] of chunks(deploymentIds.length)) {
      const ids = deploymentIds.slice(start, end);
      const rows = await this.executor
        .selectFrom("deployment_events")
        .selectAll()
        .where("id", "in", (eb) =>
          eb
            .selectFrom("deployment_events")
            .select((e) => e.fn.max("id").as("id"))
            .where("type", "=", type)
            .where("deployment_id", "in", ids)
            .groupBy("deployment_id"),
        )
        .orderBy("id")
        .execute();
      events.push(...rows);
    }
    return events;
  }
}
