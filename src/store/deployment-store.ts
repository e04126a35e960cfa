import { CompiledQuery, sql } from "kysely";
import {
  type Database,
  type DialectName,
  directIn,
  type Executor,
  inTransaction,
  lockKeys,
} from "./database.js";
import { DriftStore } from "./drift-store.js";
import { LifecycleStore } from "./lifecycle-store.js";
import { MetricStore } from "./metric-store.js";
import type {
  DeploymentRole,
  DeploymentRow,
  DeploymentStatus,
  EventRow,
  NewDeploymentRow,
} from "./schema.js";
import { SnapshotPages } from "./snapshot-pages.js";
import type { DirectSqlite } from "./sqlite/direct-sqlite.js";

export interface DeploymentFilter {
  model?: string;
  environment?: string;
  owner_team?: string;
  role?: DeploymentRole;
  statuses?: DeploymentStatus[];
  /** Epoch ms: only deployments with deployment_date < this. */
  deployed_before?: number;
  /** Epoch ms: only deployments with deployment_date >= this. */
  deployed_at_or_after?: number;
}

export interface DeploymentPage {
  filter: DeploymentFilter;
  /** `asc`: oldest deployment first (largest age first). */
  order: "asc" | "desc";
  limit: number;
  /** The (deployment_date, id) of the last row of the previous page. */
  after?: [number, number];
}

export interface NewEvent {
  deployment_id: number | null;
  model: string;
  environment: string;
  type: string;
  actor: string;
  at: number;
  data: Record<string, unknown>;
}

export interface ModelRecord {
  name: string;
  owner_team: string;
  created_at: number;
}

export interface VersionRecord {
  model: string;
  model_version: string;
  training_data_cutoff: number;
  created_at: number;
}

export interface GoldenRecord {
  model: string;
  environment: string;
  model_version: string;
  set_at: number;
  set_by: string;
}

export interface StoredResponse {
  request_hash: string;
  status_code: number;
  response: string;
}

/**
 * The registry's SQL: models, versions, deployments, events, golden versions and idempotency keys.
 * An instance is bound to the database or to one transaction (see `transaction`).
 */
export class DeploymentStore {
  constructor(
    private readonly database: Database,
    private readonly executor: Executor = database.db,
  ) {}

  get dialect(): DialectName {
    return this.database.dialect;
  }

  /**
   * SQLite, inside a transaction: the connection's own prepared statements, one per row, for the
   * registration round's statements (see DirectSqlite). Undefined elsewhere: PostgreSQL gains
   * from one multi-row statement per round trip.
   */
  private get direct(): DirectSqlite | undefined {
    return directIn(this.database, this.executor);
  }

  /** Runs `work` in one transaction with a store bound to it, retrying lost races. */
  transaction<T>(work: (store: DeploymentStore) => Promise<T>): Promise<T> {
    return inTransaction(this.database, (trx) => work(new DeploymentStore(this.database, trx)));
  }

  /** The lifecycle's SQL on the same connection: inside a transaction, the same transaction. */
  lifecycle(): LifecycleStore {
    return new LifecycleStore(this.database, this.executor);
  }

  /** Drift references and live samples on the same connection. */
  drift(): DriftStore {
    return new DriftStore(this.database, this.executor);
  }

  /** Metric points and baselines on the same connection. */
  metrics(): MetricStore {
    return new MetricStore(this.database, this.executor);
  }

  /**
   * Serializes writers of these keys (a model in an environment: `model environment`) until the
   * transaction ends. Keys are locked in one sorted order, so two transactions that lock
   * overlapping sets cannot deadlock.
   */
  async lockKeys(keys: string[]): Promise<void> {
    if (this.executor.isTransaction) await lockKeys(this.executor, this.database.dialect, keys);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.executor);
  }

  /**
   * Refreshes PostgreSQL's statistics of the deployments table and returns its estimated row
   * count (see FreshStatistics). SQLite plans our queries from their shapes and indexes alone, and
   * has no statistics to refresh: 0.
   */
  async analyzeDeployments(): Promise<number> {
    if (this.dialect !== "postgres") return 0;
    await sql`analyze deployments`.execute(this.executor);
    const { rows } = await sql<{ estimate: number }>`
      select reltuples::bigint as estimate from pg_class where oid = 'deployments'::regclass`.execute(
      this.executor,
    );
    return Number(rows[0]?.estimate ?? 0);
  }

  async findModel(name: string): Promise<ModelRecord | undefined> {
    return this.executor.selectFrom("models").selectAll().where("name", "=", name).executeTakeFirst();
  }

  async findModels(names: string[]): Promise<ModelRecord[]> {
    if (names.length === 0) return [];
    const direct = this.direct;
    if (direct)
      return direct.allEach<ModelRecord, string>("select * from models where name = ?", names, (n) => [n]);
    return this.executor.selectFrom("models").selectAll().where("name", "in", names).execute();
  }

  async insertModels(models: ModelRecord[]): Promise<void> {
    if (models.length === 0) return;
    if (this.direct) {
      this.direct.insert("models", models);
      return;
    }
    await this.executor.insertInto("models").values(models).execute();
  }

  /** The versions asked for that exist (on PostgreSQL, in one query, a superset of them). */
  async findVersions(pairs: { model: string; model_version: string }[]): Promise<VersionRecord[]> {
    if (pairs.length === 0) return [];
    const direct = this.direct;
    if (direct) {
      return direct.allEach<VersionRecord, (typeof pairs)[number]>(
        "select * from model_versions where model = ? and model_version = ?",
        pairs,
        (p) => [p.model, p.model_version],
      );
    }
    const models = [...new Set(pairs.map((p) => p.model))];
    const versions = [...new Set(pairs.map((p) => p.model_version))];
    return this.executor
      .selectFrom("model_versions")
      .selectAll()
      .where("model", "in", models)
      .where("model_version", "in", versions)
      .execute();
  }

  /** Inserts versions, skipping any that already exist. */
  async insertVersions(versions: VersionRecord[]): Promise<void> {
    if (versions.length === 0) return;
    if (this.direct) {
      this.direct.insert("model_versions", versions, { onConflict: "do nothing" });
      return;
    }
    await this.executor
      .insertInto("model_versions")
      .values(versions)
      .onConflict((oc) => oc.columns(["model", "model_version"]).doNothing())
      .execute();
  }

  /**
   * The live primaries of models in environments (on PostgreSQL, in one query, those of the
   * models in every environment).
   */
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

  /**
   * PostgreSQL: takes `count` ids from the deployments' sequence, in ascending order, for
   * inserts that name their rows' ids (see insertDeployments); ids not used are skipped, as
   * those of a rolled-back insert are. SQLite: undefined, its insert hands ids out within the
   * same call.
   */
  async reserveDeploymentIds(count: number): Promise<number[] | undefined> {
    if (this.dialect !== "postgres" || count === 0) return undefined;
    const { rows } = await sql<{ id: number }>`
      select nextval(pg_get_serial_sequence('deployments', 'id')) as id
      from generate_series(1, ${count})`.execute(this.executor);
    return rows.map((row) => Number(row.id)).sort((a, b) => a - b);
  }

  /**
   * Inserts deployments in one statement and returns the stored rows. With `ids` (from
   * reserveDeploymentIds, one a row), the rows are stored under them and are known before the
   * database answers: `storedDeployments` builds them.
   */
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
    if (this.direct) {
      // A new row takes nothing from the database but its id: reading the stored row back cost
      // the insert a fifth more, for columns the row already has.
      const ids = this.direct.insert("deployments", rows, { returningIds: true });
      return rows.map((row, i) => newlyStored(row, ids[i]));
    }
    return this.executor.insertInto("deployments").values(rows).returningAll().execute();
  }

  /**
   * Ends live deployments, each at its own time, in one statement; returns how many it ended.
   * CAST keeps PostgreSQL from reading the untyped parameters of the CASE as text.
   */
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

  async findStoredResponses(scopeKeys: string[]): Promise<(StoredResponse & { scope_key: string })[]> {
    if (scopeKeys.length === 0) return [];
    const direct = this.direct;
    if (direct) {
      return direct.allEach<StoredResponse & { scope_key: string }, string>(
        "select scope_key, request_hash, status_code, response from idempotency_keys where scope_key = ?",
        scopeKeys,
        (key) => [key],
      );
    }
    return this.executor
      .selectFrom("idempotency_keys")
      .select(["scope_key", "request_hash", "status_code", "response"])
      .where("scope_key", "in", scopeKeys)
      .execute();
  }

  async storeResponses(rows: (StoredResponse & { scope_key: string; created_at: number })[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.direct) {
      this.direct.insert("idempotency_keys", rows);
      return;
    }
    await this.executor.insertInto("idempotency_keys").values(rows).execute();
  }

  async listModels(): Promise<ModelRecord[]> {
    return this.executor.selectFrom("models").selectAll().orderBy("name").execute();
  }

  async findVersion(model: string, version: string): Promise<VersionRecord | undefined> {
    return this.executor
      .selectFrom("model_versions")
      .selectAll()
      .where("model", "=", model)
      .where("model_version", "=", version)
      .executeTakeFirst();
  }

  async listVersions(model: string): Promise<VersionRecord[]> {
    return this.executor
      .selectFrom("model_versions")
      .selectAll()
      .where("model", "=", model)
      .orderBy("created_at")
      .orderBy("model_version")
      .execute();
  }

  async findDeployment(id: number): Promise<DeploymentRow | undefined> {
    return this.executor.selectFrom("deployments").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** The deployments with these ids, in one query. */
  async findDeployments(ids: number[]): Promise<DeploymentRow[]> {
    if (ids.length === 0) return [];
    return this.executor.selectFrom("deployments").selectAll().where("id", "in", ids).execute();
  }

  /** The live deployments of a model in an environment, as a query to narrow down. */
  private liveIn(model: string, environment: string) {
    return this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("model", "=", model)
      .where("environment", "=", environment)
      .where("status", "=", sql.lit("active"));
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

  async insertDeployment(row: NewDeploymentRow): Promise<DeploymentRow> {
    const [stored] = await this.insertDeployments([row]);
    if (!stored) throw new Error("the insert returned no row");
    return stored;
  }

  /** Ends a live deployment; returns false when it was no longer live (someone ended it first). */
  async endDeployment(id: number, status: DeploymentStatus, endedAt: number): Promise<boolean> {
    return (await this.endDeployments(status, [{ id, ended_at: endedAt }])) === 1;
  }

  /** Makes a scheduled promotion live at `at`; false when it is no longer scheduled. */
  async activateScheduled(id: number, at: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("deployments")
      .set({ status: "active", deployment_date: at })
      .where("id", "=", id)
      .where("status", "=", sql.lit("scheduled"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Cancels a scheduled promotion (status `retired`); false when it is no longer scheduled. */
  async cancelScheduled(id: number, at: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("deployments")
      .set({ status: "retired", ended_at: at })
      .where("id", "=", id)
      .where("status", "=", sql.lit("scheduled"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /** Adds to the TTL of one live deployment (a review's extension); false when it is not live. */
  async extendTtl(id: number, seconds: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("deployments")
      .set((eb) => ({ ttl_extension_seconds: eb("ttl_extension_seconds", "+", seconds) }))
      .where("id", "=", id)
      .where("status", "=", sql.lit("active"))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  /**
   * A page of deployments. Its SQL is built by Kysely once per shape of page (which filters, which
   * order, whether after a cursor, how many) and kept: building it was a twentieth of a page's CPU
   * under load. The shape's parameters are the filter's values in the order the query binds
   * them, checked against Kysely's own when the shape is first built.
   */
  async listDeployments(page: DeploymentPage): Promise<DeploymentRow[]> {
    const { shape, parameters } = pageShape(this.dialect, page);
    let query = pageQueries.get(shape);
    if (!query) {
      const compiled = this.pageQuery(page);
      if (!sameValues(compiled.parameters, parameters)) {
        throw new Error(`a page's parameters are not bound in the order pageShape gives (${shape})`);
      }
      query = { ...compiled, sql: pageSql(this.dialect, compiled.sql) };
      if (pageQueries.size >= MAX_PAGE_SHAPES) pageQueries.clear();
      pageQueries.set(shape, query);
    }
    // Outside a transaction (whose own writes a snapshot would not show), a page read before is
    // served again while nothing has been committed since (SnapshotPages).
    if (this.executor.isTransaction) {
      return (await readPage(this.executor, this.dialect, { ...query, parameters }, page.order)).rows;
    }
    const pages = snapshotPagesOf(this.database);
    const key = `${shape}\u0000${JSON.stringify(parameters)}`;
    const known = pages.get(key);
    let snapshot = known ? await this.snapshot() : undefined;
    if (known && snapshot === known.snapshot) return [...known.rows];
    // SQLite's snapshot is taken before the page, so that a commit in between makes it older than
    // the page, never newer; PostgreSQL's comes with the page, from the statement that read it.
    if (this.dialect === "sqlite") snapshot ??= await this.snapshot();
    const read = await readPage(this.executor, this.dialect, { ...query, parameters }, page.order);
    const readIn = this.dialect === "postgres" ? read.snapshot : snapshot;
    if (readIn !== undefined) pages.set(key, readIn, read.rows);
    return read.rows;
  }

  /**
   * What the database's committed state is now, as text that changes whenever anything is
   * committed. PostgreSQL: the statement's snapshot (transactions in progress and the next id).
   * SQLite: PRAGMA data_version, which moves when another connection commits, with this
   * connection's count of changed rows, which moves with its own writes (and with those it rolls
   * back, which only costs a read).
   */
  private async snapshot(): Promise<string | undefined> {
    const { rows } = await this.executor.executeQuery<{ snapshot: string }>(
      this.dialect === "postgres" ? POSTGRES_SNAPSHOT : SQLITE_SNAPSHOT,
    );
    return rows[0]?.snapshot;
  }

  /**
   * The query of a page of deployments, in age order after the cursor (also what the registry
   * benchmark asks the planner to explain).
   */
  pageQuery(page: DeploymentPage): CompiledQuery {
    const { filter } = page;
    let query = this.executor.selectFrom("deployments").selectAll();
    if (filter.model) query = query.where("model", "=", filter.model);
    if (filter.environment) query = query.where("environment", "=", filter.environment);
    if (filter.owner_team) query = query.where("owner_team", "=", filter.owner_team);
    if (filter.role) query = query.where("role", "=", filter.role);
    // Statuses are a closed set of words: literals let the planners use deployments_live_age.
    const [onlyStatus, ...moreStatuses] = filter.statuses ?? [];
    if (onlyStatus !== undefined && moreStatuses.length === 0) {
      query = query.where("status", "=", sql.lit(onlyStatus));
    } else if (onlyStatus !== undefined) {
      query = query.where(
        "status",
        "in",
        [onlyStatus, ...moreStatuses].map((status) => sql.lit(status)),
      );
    }
    if (filter.deployed_before !== undefined)
      query = query.where("deployment_date", "<", filter.deployed_before);
    if (filter.deployed_at_or_after !== undefined)
      query = query.where("deployment_date", ">=", filter.deployed_at_or_after);
    const after = page.after;
    if (after) {
      // Keyset paging. Spelled out rather than as a row comparison, with the redundant bound on
      // deployment_date first, so that both planners read it as a range of the (…, deployment_date,
      // id) index after any equality filter; PostgreSQL does not for `(a, b) > (x, y)` there.
      const [date, id] = after;
      const op = page.order === "asc" ? ">" : "<";
      const opOrEqual = page.order === "asc" ? ">=" : "<=";
      query = query
        .where("deployment_date", opOrEqual, date)
        .where((eb) => eb.or([eb("deployment_date", op, date), eb("id", op, id)]));
    }
    return query
      .orderBy("deployment_date", page.order)
      .orderBy("id", page.order)
      .limit(sql.lit(limitOf(page.limit)))
      .compile();
  }

  /** Live deployments of the given models, for model summaries. */
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

  async appendEvent(event: NewEvent): Promise<void> {
    await this.appendEvents([event]);
  }

  /** Appends events in one statement, in the order given. */
  async appendEvents(events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    const rows = events.map((event) => ({ ...event, data: JSON.stringify(event.data) }));
    if (this.direct) {
      this.direct.insert("deployment_events", rows);
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

  /** Every event of a model, its deployments' and its own (golden_set), oldest first. */
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

  /**
   * The newest live shadow or canary of a model in an environment, deployed after `since`, whose
   * last judged performance held its target and whose inputs have not drifted: a successor that
   * has shown it works, which may take over from an expired primary.
   */
  async findValidatedSuccessor(
    model: string,
    environment: string,
    since: number,
  ): Promise<DeploymentRow | undefined> {
    return this.liveIn(model, environment)
      .where("role", "in", [sql.lit<DeploymentRole>("shadow"), sql.lit<DeploymentRole>("canary")])
      .where("deployment_date", ">", since)
      .where("performance_state", "=", "ok")
      .where((eb) => eb.or([eb("drift_state", "is", null), eb("drift_state", "!=", "drifted")]))
      .orderBy("deployment_date", "desc")
      .orderBy("id", "desc")
      .executeTakeFirst();
  }

  /** Makes a live shadow or canary the primary; the caller has ended the previous primary. */
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

  async findGolden(model: string, environment: string): Promise<GoldenRecord | undefined> {
    return this.executor
      .selectFrom("golden_versions")
      .selectAll()
      .where("model", "=", model)
      .where("environment", "=", environment)
      .executeTakeFirst();
  }

  async listGolden(models: string[]): Promise<GoldenRecord[]> {
    if (models.length === 0) return [];
    return this.executor.selectFrom("golden_versions").selectAll().where("model", "in", models).execute();
  }

  async upsertGolden(golden: GoldenRecord): Promise<void> {
    await this.executor
      .insertInto("golden_versions")
      .values(golden)
      .onConflict((oc) =>
        oc.columns(["model", "environment"]).doUpdateSet({
          model_version: golden.model_version,
          set_at: golden.set_at,
          set_by: golden.set_by,
        }),
      )
      .execute();
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
  // Every column by name, in the table's order, not `{ ...row, … }`: the spread's objects took
  // the registration round ~12 µs more (in-process, three alternating runs), and a column added
  // to the table without a value here does not compile.
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
  };
}

/**
 * A page's LIMIT, written into the statement rather than bound: SQLite ran the page query ~40 µs
 * (a fifth) slower with `limit ?` than with the same number in its text (better-sqlite3, 20,000
 * deployments, a page of 101). Limits are few (the API's 1–500, plus one, and the stage filter's
 * chunks), so each filter's shape still makes only a few statements. Only a whole number is ever
 * written into SQL.
 */
function limitOf(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 0)
    throw new Error(`a page limit must be a whole number, not ${limit}`);
  return limit;
}

/** Every column of a deployment row, in the order a SQLite page carries them (deploymentFromArray). */
export const DEPLOYMENT_COLUMNS = [
  "id",
  "model",
  "model_version",
  "environment",
  "owner_team",
  "role",
  "status",
  "deployment_date",
  "training_data_cutoff",
  "ended_at",
  "endpoint",
  "tags",
  "ttl_extension_seconds",
  "created_at",
  "created_by",
  "last_heartbeat_at",
  "performance_state",
  "performance_ok_since",
  "performance_drop",
  "drift_state",
] as const satisfies readonly (keyof DeploymentRow)[];

/**
 * Reads a page of deployments as one JSON array of arrays, built by the database. A driver turns
 * each value of each row into a JavaScript value on its own (better-sqlite3 from C++, pg from
 * text), which cost a page of 100 rows ~400 µs against ~15 µs for SQLite to find them; the
 * database's JSON and one JSON.parse take half as long. Both write integers and doubles so that
 * they parse back exactly (SQLite ≥ 3.43 prints doubles round-trip; PostgreSQL's int8 and float8
 * output is exact and shortest). Both aggregate the ordered subquery in its order, though neither
 * promises to: an ORDER BY inside the aggregate would (and cost SQLite a quarter of the page), so
 * the order is checked here instead and restored in the rare case it is not kept.
 *
 * PostgreSQL aggregates a page's text columns, its integer columns and its one double column
 * apart, each row's values of one type as one array: `json_build_array` looks up how to write
 * each value's type for every value, and took the backend 0.77–0.96 ms a page against
 * 0.45–0.52 ms for arrays of one type (EXPLAIN ANALYZE, five runs each, 20,000 deployments), on
 * the cores the server shares with it. (Every column as text cost the backend the same, and the
 * server a Number a value.)
 */
async function readPage(
  executor: Executor,
  dialect: DialectName,
  query: CompiledQuery,
  order: "asc" | "desc",
): Promise<{ rows: DeploymentRow[]; snapshot?: string }> {
  const { rows } = await executor.executeQuery<{ page: string; snapshot?: string }>(query);
  const page = rows[0]?.page;
  const snapshot = rows[0]?.snapshot;
  let deployments: DeploymentRow[] = [];
  if (page && dialect === "sqlite") {
    deployments = (JSON.parse(page) as unknown[][]).map(deploymentFromArray);
  } else if (page) {
    const [texts, integers, doubles] = JSON.parse(page) as [unknown[][], unknown[][], unknown[]];
    deployments = texts.map((text, i) => deploymentFromColumns(text, integers[i] as unknown[], doubles[i]));
  }
  const sign = order === "asc" ? 1 : -1;
  const byAge = (a: DeploymentRow, b: DeploymentRow) =>
    sign * (a.deployment_date - b.deployment_date || a.id - b.id);
  for (let i = 1; i < deployments.length; i++) {
    if (byAge(deployments[i - 1] as DeploymentRow, deployments[i] as DeploymentRow) > 0) {
      return { rows: deployments.sort(byAge), snapshot };
    }
  }
  return { rows: deployments, snapshot };
}

/** The snapshot a statement reads in, as text (PostgreSQL 13 or later). */
const POSTGRES_SNAPSHOT = CompiledQuery.raw("select pg_current_snapshot()::text as snapshot");
const SQLITE_SNAPSHOT = CompiledQuery.raw(
  "select (select data_version from pragma_data_version) || ':' || total_changes() as snapshot",
);

/** Each database's pages read outside transactions (see SnapshotPages). */
const snapshotPages = new WeakMap<Database, SnapshotPages>();

function snapshotPagesOf(database: Database): SnapshotPages {
  let pages = snapshotPages.get(database);
  if (!pages) {
    pages = new SnapshotPages();
    snapshotPages.set(database, pages);
  }
  return pages;
}

/** The statement that reads the rows of `inner` as one JSON text (see readPage). */
function pageSql(dialect: DialectName, inner: string): string {
  return dialect === "sqlite"
    ? `select json_group_array(json_array(${DEPLOYMENT_COLUMNS.map((column) => `page_rows.${column}`).join(", ")})) as page from (${inner}) as page_rows`
    : `select json_build_array(${[
        `array[${PG_TEXT_COLUMNS.map((column) => `page_rows.${column}`).join(", ")}]`,
        `array[${PG_INTEGER_COLUMNS.map((column) => `page_rows.${column}`).join(", ")}]`,
        "page_rows.performance_drop",
      ]
        .map((values) => `coalesce(json_agg(${values}), '[]'::json)`)
        .join(", ")})::text as page, pg_current_snapshot()::text as snapshot from (${inner}) as page_rows`;
}

/** A PostgreSQL page's columns by type (see readPage), in the order deploymentFromColumns reads them. */
const PG_TEXT_COLUMNS = [
  "model",
  "model_version",
  "environment",
  "owner_team",
  "role",
  "status",
  "endpoint",
  "tags",
  "created_by",
  "performance_state",
  "drift_state",
] as const satisfies readonly (keyof DeploymentRow)[];
const PG_INTEGER_COLUMNS = [
  "id",
  "deployment_date",
  "training_data_cutoff",
  "ended_at",
  "ttl_extension_seconds",
  "created_at",
  "last_heartbeat_at",
  "performance_ok_since",
] as const satisfies readonly (keyof DeploymentRow)[];
/** Fails to compile when a column of deployments is in none of the three. */
const _everyColumnRead: Record<
  Exclude<
    keyof DeploymentRow,
    (typeof PG_TEXT_COLUMNS)[number] | (typeof PG_INTEGER_COLUMNS)[number] | "performance_drop"
  >,
  never
> = {};

/** Page statements by shape (see listDeployments); a few dozen in practice, bounded anyway. */
const pageQueries = new Map<string, CompiledQuery>();
const MAX_PAGE_SHAPES = 1024;

/**
 * What makes two pages one statement, and the values that statement binds, in the order
 * pageQuery's conditions bind them. Conditions are kept exactly as pageQuery tests them.
 */
function pageShape(dialect: DialectName, page: DeploymentPage): { shape: string; parameters: unknown[] } {
  const { filter, after } = page;
  const parameters: unknown[] = [];
  let shape = `${dialect} ${page.order} ${page.limit} `;
  for (const value of [filter.model, filter.environment, filter.owner_team, filter.role]) {
    shape += value ? "1" : "0";
    if (value) parameters.push(value);
  }
  shape += ` ${filter.statuses?.join(",") ?? ""} `;
  for (const value of [filter.deployed_before, filter.deployed_at_or_after]) {
    shape += value !== undefined ? "1" : "0";
    if (value !== undefined) parameters.push(value);
  }
  if (after) {
    shape += " after";
    parameters.push(after[0], after[0], after[1]);
  }
  return { shape, parameters };
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}

/** A row of PostgreSQL's page from its text and integer columns and performance_drop (see pageSql). */
function deploymentFromColumns(t: unknown[], n: unknown[], performanceDrop: unknown): DeploymentRow {
  return {
    id: n[0],
    model: t[0],
    model_version: t[1],
    environment: t[2],
    owner_team: t[3],
    role: t[4],
    status: t[5],
    deployment_date: n[1],
    training_data_cutoff: n[2],
    ended_at: n[3],
    endpoint: t[6],
    tags: t[7],
    ttl_extension_seconds: n[4],
    created_at: n[5],
    created_by: t[8],
    last_heartbeat_at: n[6],
    performance_state: t[9],
    performance_ok_since: n[7],
    // PostgreSQL's JSON writes the doubles NaN and ±Infinity as strings; no metric should give them.
    performance_drop: typeof performanceDrop === "string" ? Number(performanceDrop) : performanceDrop,
    drift_state: t[10],
  } as DeploymentRow;
}

function deploymentFromArray(a: unknown[]): DeploymentRow {
  return {
    id: a[0],
    model: a[1],
    model_version: a[2],
    environment: a[3],
    owner_team: a[4],
    role: a[5],
    status: a[6],
    deployment_date: a[7],
    training_data_cutoff: a[8],
    ended_at: a[9],
    endpoint: a[10],
    tags: a[11],
    ttl_extension_seconds: a[12],
    created_at: a[13],
    created_by: a[14],
    last_heartbeat_at: a[15],
    performance_state: a[16],
    performance_ok_since: a[17],
    performance_drop: a[18],
    drift_state: a[19],
  } as DeploymentRow;
}
