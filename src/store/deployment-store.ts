import { type CompiledQuery, sql } from "kysely";
import type { DeploymentRole, DeploymentStatus } from "../core/words.js";
import { BoundStore } from "./bound-store.js";
import { type EventLog, type NewEvent, SqlEventLog } from "./event-log.js";
import type { DeploymentRow, EventRow, NewDeploymentRow } from "./schema.js";
import { newlyStored, storedDeployments } from "./stored-deployments.js";

// Where they were first written, so their importers need not change.
export type { NewEvent };
export { storedDeployments };

/** Which live deployments a fleet-wide read covers: one team's, one environment's, one model's, or every one. */
export interface LiveScope {
  owner_team?: string;
  environment?: string;
  model?: string;
}

/**
 * Deployments and their events (EventLog): what the registry writes as the source of truth, and
 * what the lifecycle reads of the live fleet.
 */
export interface DeploymentStore extends EventLog {
  findDeployment(id: number): Promise<DeploymentRow | undefined>;
  /** The deployments with these ids, in one query. */
  findDeployments(ids: number[]): Promise<DeploymentRow[]>;
  findLivePrimary(model: string, environment: string): Promise<DeploymentRow | undefined>;
  /**
   * The live primaries of models in environments (on PostgreSQL, in one query, those of the
   * models in every environment).
   */
  findLivePrimaries(pairs: { model: string; environment: string }[]): Promise<DeploymentRow[]>;
  /**
   * The endpoint the newest deployment of this version of a model in an environment served at,
   * live or ended; undefined when none had one. A rollback sends traffic back there.
   */
  lastEndpoint(model: string, environment: string, modelVersion: string): Promise<string | undefined>;
  /** Live deployments of the given models, oldest first, for model summaries. */
  listLiveForModels(models: string[]): Promise<DeploymentRow[]>;
  /**
   * Live deployments in `scope`, in id order after `afterId`, `limit` at a time: a sweep's or a
   * gate's memory stays flat however large the fleet.
   */
  liveDeployments(afterId: number, limit: number, scope?: LiveScope): Promise<DeploymentRow[]>;
  /**
   * PostgreSQL: takes `count` ids from the deployments' sequence, in ascending order, for
   * inserts that name their rows' ids (see insertDeployments); ids not used are skipped, as
   * those of a rolled-back insert are. SQLite: undefined, its insert hands ids out within the
   * same call.
   */
  reserveDeploymentIds(count: number): Promise<number[] | undefined>;
  /**
   * Inserts deployments in one statement and returns the stored rows. With `ids` (from
   * reserveDeploymentIds, one a row), the rows are stored under them and are known before the
   * database answers: `storedDeployments` builds them.
   */
  insertDeployments(rows: NewDeploymentRow[], ids?: number[]): Promise<DeploymentRow[]>;
  insertDeployment(row: NewDeploymentRow): Promise<DeploymentRow>;
  /** Ends live deployments, each at its own time, in one statement; returns how many it ended. */
  endDeployments(status: DeploymentStatus, ends: { id: number; ended_at: number }[]): Promise<number>;
  /** Ends a live deployment; false when it was no longer live (someone ended it first). */
  endDeployment(id: number, status: DeploymentStatus, endedAt: number): Promise<boolean>;
  /** Makes a scheduled promotion live at `at`; false when it is no longer scheduled. */
  activateScheduled(id: number, at: number): Promise<boolean>;
  /** Cancels a scheduled promotion (status `retired`); false when it is no longer scheduled. */
  cancelScheduled(id: number, at: number): Promise<boolean>;
  /** Scheduled promotions whose time has come at `at`, oldest first. */
  duePromotions(at: number, limit: number): Promise<DeploymentRow[]>;
  /** When the next scheduled promotion is due, so a scheduler can wake for it. */
  nextPromotion(): Promise<number | undefined>;
  /** Adds to the TTL of one live deployment (a review's extension); false when it is not live. */
  extendTtl(id: number, seconds: number): Promise<boolean>;
  /**
   * The newest live shadow or canary of a model in an environment, deployed after `since`, whose
   * last judged performance held its target and whose inputs have not drifted: a successor that
   * has shown it works, which may take over from an expired primary.
   */
  findValidatedSuccessor(
    model: string,
    environment: string,
    since: number,
  ): Promise<DeploymentRow | undefined>;
  /** Makes a live shadow or canary the primary; the caller has ended the previous primary. */
  makePrimary(id: number): Promise<boolean>;
  /**
   * Refreshes PostgreSQL's statistics of the deployments table and returns its estimated row
   * count (see FreshStatistics). SQLite plans our queries from their shapes and indexes alone, and
   * has no statistics to refresh: 0.
   */
  analyzeDeployments(): Promise<number>;
}

export class SqlDeploymentStore extends BoundStore implements DeploymentStore {
  private readonly events = new SqlEventLog(this.database, this.executor);

  appendEvent(event: NewEvent): Promise<void> {
    return this.events.appendEvent(event);
  }

  appendEvents(events: NewEvent[]): Promise<void> {
    return this.events.appendEvents(events);
  }

  listEvents(deploymentId: number): Promise<EventRow[]> {
    return this.events.listEvents(deploymentId);
  }

  listModelEvents(model: string): Promise<EventRow[]> {
    return this.events.listModelEvents(model);
  }

  /** The query of a model's history (see SqlEventLog.modelEventsQuery). */
  modelEventsQuery(model: string): CompiledQuery<EventRow> {
    return this.events.modelEventsQuery(model);
  }

  async findDeployment(id: number): Promise<DeploymentRow | undefined> {
    return this.executor.selectFrom("deployments").selectAll().where("id", "=", id).executeTakeFirst();
  }

  async findDeployments(ids: number[]): Promise<DeploymentRow[]> {
    if (ids.length === 0) return [];
    return this.executor.selectFrom("deployments").selectAll().where("id", "in", ids).execute();
  }

  async findLivePrimary(model: string, environment: string): Promise<DeploymentRow | undefined> {
    return this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("model", "=", model)
      .where("environment", "=", environment)
      .where(sql.raw(LIVE_PRIMARY_KEY), "=", sql.lit(0))
      .executeTakeFirst();
  }

  async findLivePrimaries(pairs: { model: string; environment: string }[]): Promise<DeploymentRow[]> {
    if (pairs.length === 0) return [];
    const direct = this.direct;
    if (direct) {
      return direct.allEach<DeploymentRow, (typeof pairs)[number]>(
        `select * from deployments where model = ? and environment = ? and ${LIVE_PRIMARY_KEY} = 0`,
        pairs,
        (p) => [p.model, p.environment],
      );
    }
    const models = [...new Set(pairs.map((p) => p.model))];
    return this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("model", "in", models)
      .where(sql.raw(LIVE_PRIMARY_KEY), "=", sql.lit(0))
      .execute();
  }

  async lastEndpoint(model: string, environment: string, modelVersion: string): Promise<string | undefined> {
    const row = await this.executor
      .selectFrom("deployments")
      .select("endpoint")
      .where("model", "=", model)
      .where("environment", "=", environment)
      .where("model_version", "=", modelVersion)
      .where("endpoint", "is not", null)
      .orderBy("id", "desc")
      .limit(1)
      .executeTakeFirst();
    return row?.endpoint ?? undefined;
  }

  async listLiveForModels(models: string[]): Promise<DeploymentRow[]> {
    if (models.length === 0) return [];
    return this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("model", "in", models)
      .where("status", "=", "active")
      .orderBy("deployment_date")
      .execute();
  }

  async liveDeployments(afterId: number, limit: number, scope: LiveScope = {}): Promise<DeploymentRow[]> {
    let query = this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("status", "=", sql.lit("active"))
      .where("id", ">", afterId);
    if (scope.owner_team !== undefined) query = query.where("owner_team", "=", scope.owner_team);
    if (scope.environment !== undefined) query = query.where("environment", "=", scope.environment);
    if (scope.model !== undefined) query = query.where("model", "=", scope.model);
    return query.orderBy("id").limit(limit).execute();
  }

  async reserveDeploymentIds(count: number): Promise<number[] | undefined> {
    if (this.dialect !== "postgres" || count === 0) return undefined;
    const { rows } = await sql<{ id: number }>`
      select nextval(pg_get_serial_sequence('deployments', 'id')) as id
      from generate_series(1, ${count})`.execute(this.executor);
    return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
  }

  async insertDeployments(rows: NewDeploymentRow[], ids?: number[]): Promise<DeploymentRow[]> {
    if (rows.length === 0) return [];
    if (ids) {
      const stored = storedDeployments(rows, ids);
      await this.executor
        .insertInto("deployments")
        .values(rows.map((row, i) => ({ ...row, id: stored[i]?.id })))
        .execute();
      return stored;
    }
    const direct = this.direct;
    if (direct) {
      // A new row takes nothing from the database but its id: reading the stored row back would
      // only return the columns the row already has (see BENCHMARKS.md).
      const ids = direct.insert("deployments", rows, { returningIds: true });
      return rows.map((row, i) => newlyStored(row, ids[i]));
    }
    return this.executor.insertInto("deployments").values(rows).returningAll().execute();
  }

  async insertDeployment(row: NewDeploymentRow): Promise<DeploymentRow> {
    const [stored] = await this.insertDeployments([row]);
    if (!stored) throw new Error("the insert returned no row");
    return stored;
  }

  async endDeployments(status: DeploymentStatus, ends: { id: number; ended_at: number }[]): Promise<number> {
    if (ends.length === 0) return 0;
    const direct = this.direct;
    if (direct) {
      let ended = 0;
      for (const e of ends) {
        ended += direct.run(
          "update deployments set status = ?, ended_at = ? where id = ? and status = 'active'",
          [status, e.ended_at, e.id],
        );
      }
      return ended;
    }
    // CAST keeps PostgreSQL from reading the untyped parameters of the CASE as text.
    const cases = sql.join(
      ends.map((e) => sql`when ${e.id} then cast(${e.ended_at} as bigint)`),
      sql` `,
    );
    const result = await this.executor
      .updateTable("deployments")
      .set({ status, ended_at: sql<number>`case id ${cases} end` })
      .where(
        "id",
        "in",
        ends.map((e) => e.id),
      )
      .where("status", "=", sql.lit("active"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  async endDeployment(id: number, status: DeploymentStatus, endedAt: number): Promise<boolean> {
    return (await this.endDeployments(status, [{ id, ended_at: endedAt }])) === 1;
  }

  async activateScheduled(id: number, at: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("deployments")
      .set({ status: "active", deployment_date: at })
      .where("id", "=", id)
      .where("status", "=", sql.lit("scheduled"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async cancelScheduled(id: number, at: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("deployments")
      .set({ status: "retired", ended_at: at })
      .where("id", "=", id)
      .where("status", "=", sql.lit("scheduled"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async duePromotions(at: number, limit: number): Promise<DeploymentRow[]> {
    return this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("status", "=", sql.lit("scheduled"))
      .where("deployment_date", "<=", at)
      .orderBy("deployment_date")
      .orderBy("id")
      .limit(limit)
      .execute();
  }

  async nextPromotion(): Promise<number | undefined> {
    const row = await this.executor
      .selectFrom("deployments")
      .select((eb) => eb.fn.min("deployment_date").as("at"))
      .where("status", "=", sql.lit("scheduled"))
      .executeTakeFirst();
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }

  async extendTtl(id: number, seconds: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("deployments")
      .set((eb) => ({ ttl_extension_seconds: eb("ttl_extension_seconds", "+", seconds) }))
      .where("id", "=", id)
      .where("status", "=", sql.lit("active"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async findValidatedSuccessor(
    model: string,
    environment: string,
    since: number,
  ): Promise<DeploymentRow | undefined> {
    return this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("model", "=", model)
      .where("environment", "=", environment)
      .where("status", "=", sql.lit("active"))
      .where("role", "in", [sql.lit<DeploymentRole>("shadow"), sql.lit<DeploymentRole>("canary")])
      .where("deployment_date", ">", since)
      .where("performance_state", "=", "ok")
      .where((eb) => eb.or([eb("drift_state", "is", null), eb("drift_state", "!=", "drifted")]))
      .orderBy("deployment_date", "desc")
      .orderBy("id", "desc")
      .executeTakeFirst();
  }

  async makePrimary(id: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("deployments")
      .set({ role: "primary" })
      .where("id", "=", id)
      .where("status", "=", sql.lit("active"))
      .where("role", "in", [sql.lit<DeploymentRole>("shadow"), sql.lit<DeploymentRole>("canary")])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async analyzeDeployments(): Promise<number> {
    if (this.dialect !== "postgres") return 0;
    await sql`analyze deployments`.execute(this.executor);
    const { rows } = await sql<{ estimate: number }>`
      select reltuples::bigint as estimate from pg_class where oid = 'deployments'::regclass`.execute(
      this.executor,
    );
    return Number(rows[0]?.estimate ?? 0);
  }
}

/**
 * The third key of the unique index `deployments_model_live` (migration 0005), spelled as there:
 * 0 for the live primary of a model in an environment, the id otherwise. A query that looks for a
 * live primary compares it with the literal 0, so that both planners read that one index entry.
 */
export const LIVE_PRIMARY_KEY = "(case when status = 'active' and role = 'primary' then 0 else id end)";
