import { type CompiledQuery, sql } from "kysely";
import type { DeploymentRole, DeploymentStatus } from "../core/words.js";
import { BoundStore } from "./bound-store.js";
import type { DeploymentRow, EventRow, NewDeploymentRow } from "./schema.js";

export interface NewEvent {
  deployment_id: number | null;
  model: string;
  environment: string;
  type: string;
  actor: string;
  at: number;
  data: Record<string, unknown>;
}

/** Which live deployments a fleet-wide read covers: one team's, one environment's, one model's, or every one. */
export interface LiveScope {
  owner_team?: string;
  environment?: string;
  model?: string;
}

/**
 * Deployments and their events: what the registry writes as the source of truth, and what the
 * lifecycle reads of the live fleet.
 */
export interface DeploymentStore {
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
  appendEvent(event: NewEvent): Promise<void>;
  /** Appends events in one statement, in the order given. */
  appendEvents(events: NewEvent[]): Promise<void>;
  /** A deployment's events, oldest first. */
  listEvents(deploymentId: number): Promise<EventRow[]>;
  /** Every event of a model, its deployments' and its own (golden_set), oldest first. */
  listModelEvents(model: string): Promise<EventRow[]>;
  /**
   * Refreshes PostgreSQL's statistics of the deployments table and returns its estimated row
   * count (see FreshStatistics). SQLite plans our queries from their shapes and indexes alone, and
   * has no statistics to refresh: 0.
   */
  analyzeDeployments(): Promise<number>;
}

export class SqlDeploymentStore extends BoundStore implements DeploymentStore {
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

  async appendEvent(event: NewEvent): Promise<void> {
    await this.appendEvents([event]);
  }

  async appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((event) => ({ ...event, data: JSON.stringify(event.data) }));
    const direct = this.direct;
    if (direct) {
      direct.insert("deployment_events", rows);
      return;
    }
    await this.executor.insertInto("deployment_events").values(rows).execute();
  }

  async listEvents(deploymentId: number): Promise<EventRow[]> {
    return this.executor
      .selectFrom("deployment_events")
      .selectAll()
      .where("deployment_id", "=", deploymentId)
      .orderBy("id")
      .execute();
  }

  async listModelEvents(model: string): Promise<EventRow[]> {
    const { rows } = await this.executor.executeQuery<EventRow>(this.modelEventsQuery(model));
    return rows;
  }

  /**
   * The query of a model's history (also what a test asks the planners to explain): through the
   * model's deployments, then its own events; no index holds every event by model.
   */
  modelEventsQuery(model: string): CompiledQuery<EventRow> {
    return this.executor
      .selectFrom("deployment_events")
      .selectAll()
      .where("deployment_id", "in", (eb) =>
        eb.selectFrom("deployments").select("id").where("model", "=", model),
      )
      .unionAll((eb) =>
        eb
          .selectFrom("deployment_events")
          .selectAll()
          .where("deployment_id", "is", null)
          .where("model", "=", model),
      )
      .orderBy("id")
      .compile();
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

/** The rows an insert stores under these ids (see insertDeployments). */
export function storedDeployments(rows: NewDeploymentRow[], ids: number[]): DeploymentRow[] {
  if (ids.length < rows.length) throw new Error(`${rows.length} deployments to insert, ${ids.length} ids`);
  return rows.map((row, i) => newlyStored(row, ids[i]));
}

/**
 * A deployment row as the database stores a new one: the columns it was given, and null in the
 * nullable ones it was not (those only the lifecycle sets later among them).
 */
function newlyStored(row: NewDeploymentRow, id: number | undefined): DeploymentRow {
  if (id === undefined) throw new Error(`the insert of ${row.model} returned no id`);
  // Every column by name, in the table's order, not `{ ...row, … }`: cheaper on the registration
  // round (see BENCHMARKS.md), and a column added to the table without a value here does not compile.
  return {
    id,
    model: row.model,
    model_version: row.model_version,
    environment: row.environment,
    owner_team: row.owner_team,
    role: row.role,
    status: row.status,
    deployment_date: row.deployment_date,
    training_data_cutoff: row.training_data_cutoff,
    ended_at: row.ended_at ?? null,
    endpoint: row.endpoint ?? null,
    tags: row.tags,
    ttl_extension_seconds: row.ttl_extension_seconds,
    created_at: row.created_at,
    created_by: row.created_by,
    last_heartbeat_at: row.last_heartbeat_at ?? null,
    performance_state: row.performance_state ?? null,
    performance_ok_since: row.performance_ok_since ?? null,
    performance_drop: row.performance_drop ?? null,
    drift_state: row.drift_state ?? null,
    traffic_weight: row.traffic_weight ?? null,
    sticky_header: row.sticky_header ?? null,
    last_traffic_at: row.last_traffic_at ?? null,
    reported_version: row.reported_version ?? null,
    version_mismatch_at: row.version_mismatch_at ?? null,
    forecast: row.forecast ?? null,
  };
}
