import { sql } from "kysely";
import { type Database, directIn, type Executor, inTransaction } from "./database.js";
import type {
  AlertRow,
  AlertState,
  DeliveryAttemptRow,
  DeliveryRow,
  DeliveryState,
  DeploymentRow,
  SweepRow,
} from "./schema.js";

/** What planning reads of an open alert. */
export type OpenAlertKey = Pick<AlertRow, "id" | "deployment_id" | "kind" | "last_notified_at">;

export interface NewSweep {
  trigger: string;
  actor: string;
  evaluated_at: number;
  scheduled_for: number | null;
  started_at: number;
}

export interface SweepTotals {
  finished_at: number;
  duration_ms: number;
  deployments: number;
  stages: Record<string, number>;
  findings: Record<string, number>;
  promotions: number;
  retirements: number;
  alerts_opened: number;
  alerts_resolved: number;
  notifications: number;
}

export interface NewAlert {
  deployment_id: number;
  kind: string;
  severity: string;
  policy: string;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  summary: string;
  detail: Record<string, unknown>;
  opened_at: number;
}

export interface NewDelivery {
  alert_id: number;
  channel: string;
  action: string;
  notification: unknown;
  created_at: number;
}

export interface AttemptRecord {
  delivery_id: number;
  at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

/** Rows a multi-row insert of alerts or deliveries writes at most: bounded statements, bounded memory. */
const WRITE_CHUNK = 256;

/**
 * Splits `n` rows into chunks of WRITE_CHUNK and then powers of two, so that a multi-row insert
 * has one of a few shapes: each is prepared once and reused (SQLite's statement cache), where a
 * shape per row count would prepare a new statement, and hold its memory, almost every time.
 */
export function chunks(n: number): [number, number][] {
  const result: [number, number][] = [];
  let start = 0;
  for (; n - start >= WRITE_CHUNK; start += WRITE_CHUNK) result.push([start, start + WRITE_CHUNK]);
  for (let size = WRITE_CHUNK / 2; size >= 1; size /= 2) {
    if (n - start >= size) {
      result.push([start, start + size]);
      start += size;
    }
  }
  return result;
}

/** A running sweep older than this is taken for dead (its process crashed) and no longer blocks. */
const ABANDONED_AFTER_MS = 30 * 60 * 1000;

/**
 * The lifecycle's SQL: the sweep log, alerts, the delivery outbox and its attempts, liveness and
 * scheduled promotions. Bound to the database or to one transaction, like DeploymentStore.
 */
export class LifecycleStore {
  constructor(
    private readonly database: Database,
    private readonly executor: Executor = database.db,
  ) {}

  get dialect() {
    return this.database.dialect;
  }

  transaction<T>(work: (store: LifecycleStore) => Promise<T>): Promise<T> {
    return inTransaction(this.database, (trx) => work(new LifecycleStore(this.database, trx)));
  }

  /**
   * Claims the right to sweep: an insert that the unique index on running sweeps (and on the
   * scheduled slot) lets only one process win. Undefined when another sweep holds it.
   */
  async claimSweep(sweep: NewSweep): Promise<SweepRow | undefined> {
    await this.executor
      .updateTable("sweeps")
      .set({ state: "failed", error: "abandoned: the process running it stopped" })
      .where("state", "=", sql.lit("running"))
      .where("started_at", "<", sweep.started_at - ABANDONED_AFTER_MS)
      .execute();
    return this.executor
      .insertInto("sweeps")
      .values({ ...sweep, state: "running" })
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
  }

  async runningSweep(): Promise<SweepRow | undefined> {
    return this.executor
      .selectFrom("sweeps")
      .selectAll()
      .where("state", "=", sql.lit("running"))
      .executeTakeFirst();
  }

  async finishSweep(id: number, totals: SweepTotals): Promise<SweepRow> {
    return this.executor
      .updateTable("sweeps")
      .set({
        ...totals,
        stages: JSON.stringify(totals.stages),
        findings: JSON.stringify(totals.findings),
        state: "done",
      })
      .where("id", "=", id)
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  async failSweep(id: number, at: number, error: string): Promise<void> {
    await this.executor
      .updateTable("sweeps")
      .set({ state: "failed", finished_at: at, error: error.slice(0, 2000) })
      .where("id", "=", id)
      .execute();
  }

  /** The sweep log, newest first. */
  async listSweeps(limit: number, beforeId?: number): Promise<SweepRow[]> {
    let query = this.executor.selectFrom("sweeps").selectAll();
    if (beforeId !== undefined) query = query.where("id", "<", beforeId);
    return query.orderBy("id", "desc").limit(limit).execute();
  }

  /** The latest cron slot a scheduled sweep claimed, if any. */
  async lastScheduledSlot(): Promise<number | undefined> {
    const row = await this.executor
      .selectFrom("sweeps")
      .select((eb) => eb.fn.max("scheduled_for").as("slot"))
      .executeTakeFirst();
    return row?.slot === null || row?.slot === undefined ? undefined : Number(row.slot);
  }

  /** Live deployments in id order, a page at a time: a sweep's memory stays flat. */
  async liveDeployments(afterId: number, limit: number): Promise<DeploymentRow[]> {
    return this.executor
      .selectFrom("deployments")
      .selectAll()
      .where("status", "=", sql.lit("active"))
      .where("id", ">", afterId)
      .orderBy("id")
      .limit(limit)
      .execute();
  }

  /** Scheduled promotions whose time has come at `at`, oldest first. */
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

  /** The next scheduled promotion after `at`, so a scheduler can wake for it. */
  async nextPromotion(): Promise<number | undefined> {
    const row = await this.executor
      .selectFrom("deployments")
      .select((eb) => eb.fn.min("deployment_date").as("at"))
      .where("status", "=", sql.lit("scheduled"))
      .executeTakeFirst();
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
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

  async openAlertsFor(deploymentIds: number[]): Promise<AlertRow[]> {
    if (deploymentIds.length === 0) return [];
    // Every registration that supersedes asks this, in its transaction: on SQLite, one prepared
    // statement per deployment on the connection itself (see DirectSqlite).
    const direct = directIn(this.database, this.executor);
    if (direct) {
      return direct.allEach<AlertRow, number>(
        "select * from alerts where state = 'open' and deployment_id = ?",
        deploymentIds,
        (id) => [id],
      );
    }
    return this.executor
      .selectFrom("alerts")
      .selectAll()
      .where("state", "=", sql.lit("open"))
      .where("deployment_id", "in", deploymentIds)
      .execute();
  }

  /** Open alerts per kind. */
  async countOpenAlerts(): Promise<Record<string, number>> {
    const rows = await this.executor
      .selectFrom("alerts")
      .select(["kind", (eb) => eb.fn.countAll<number>().as("count")])
      .where("state", "=", sql.lit("open"))
      .groupBy("kind")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.kind, Number(r.count)]));
  }

  /**
   * Open alerts of the deployments with ids in [fromId, toId]: one index range for a sweep's
   * page of deployments, where a list of a thousand ids would cost a thousand probes.
   */
  async openAlertsInRange(fromId: number, toId: number): Promise<OpenAlertKey[]> {
    // Only what planning reads: a sweep holds tens of thousands of open alerts, and reading
    // whole rows of them every day would cost more than reading the deployments.
    return this.executor
      .selectFrom("alerts")
      .select(["id", "deployment_id", "kind", "last_notified_at"])
      .where("state", "=", sql.lit("open"))
      .where("deployment_id", ">=", fromId)
      .where("deployment_id", "<=", toId)
      .execute();
  }

  /** Alerts a review acknowledged, of the deployments with ids in [fromId, toId]. */
  async reviewedAlertsInRange(
    fromId: number,
    toId: number,
  ): Promise<Pick<AlertRow, "deployment_id" | "kind" | "resolved_at">[]> {
    return this.executor
      .selectFrom("alerts")
      .select(["deployment_id", "kind", "resolved_at"])
      .where("deployment_id", ">=", fromId)
      .where("deployment_id", "<=", toId)
      .where("resolution", "=", sql.lit("reviewed"))
      .execute();
  }

  /** Whole alert rows by id. */
  async findAlerts(ids: number[]): Promise<AlertRow[]> {
    if (ids.length === 0) return [];
    return this.executor.selectFrom("alerts").selectAll().where("id", "in", ids).execute();
  }

  /** Alerts of these deployments that a review acknowledged (resolution `reviewed`). */
  async reviewedAlertsFor(deploymentIds: number[]): Promise<AlertRow[]> {
    if (deploymentIds.length === 0) return [];
    return this.executor
      .selectFrom("alerts")
      .selectAll()
      .where("deployment_id", "in", deploymentIds)
      .where("resolution", "=", sql.lit("reviewed"))
      .execute();
  }

  /** Open alerts whose deployment is no longer live: their cause went away with it. */
  async openAlertsOfEndedDeployments(limit: number, afterId = 0): Promise<(AlertRow & { status: string })[]> {
    return this.executor
      .selectFrom("alerts")
      .innerJoin("deployments", "deployments.id", "alerts.deployment_id")
      .selectAll("alerts")
      .select("deployments.status")
      .where("alerts.state", "=", sql.lit("open"))
      .where("deployments.status", "<>", sql.lit("active"))
      .where("alerts.id", ">", afterId)
      .orderBy("alerts.id")
      .limit(limit)
      .execute();
  }

  async insertAlerts(alerts: NewAlert[]): Promise<AlertRow[]> {
    const inserted: AlertRow[] = [];
    for (const [start, end] of chunks(alerts.length)) {
      const chunk = alerts.slice(start, end).map((a) => ({
        ...a,
        detail: JSON.stringify(a.detail),
        state: "open" as const,
        last_notified_at: a.opened_at,
        notifications: 1,
      }));
      inserted.push(...(await this.executor.insertInto("alerts").values(chunk).returningAll().execute()));
    }
    return inserted;
  }

  /** Records a reminder; only alerts still open count. */
  async markReminded(ids: number[], at: number): Promise<void> {
    if (ids.length === 0) return;
    await this.executor
      .updateTable("alerts")
      .set((eb) => ({ last_notified_at: at, notifications: eb("notifications", "+", 1) }))
      .where("id", "in", ids)
      .where("state", "=", sql.lit("open"))
      .execute();
  }

  /** Resolves open alerts; returns the ones this call resolved (not those resolved meanwhile). */
  async resolveAlerts(ids: number[], at: number, resolution: string): Promise<AlertRow[]> {
    if (ids.length === 0) return [];
    return this.executor
      .updateTable("alerts")
      .set({ state: "resolved", resolved_at: at, resolution })
      .where("id", "in", ids)
      .where("state", "=", sql.lit("open"))
      .returningAll()
      .execute();
  }

  async listAlerts(query: {
    state?: AlertState;
    deployment_id?: number;
    owner_team?: string;
    limit: number;
    beforeId?: number;
  }): Promise<AlertRow[]> {
    let q = this.executor.selectFrom("alerts").selectAll();
    if (query.state) q = q.where("state", "=", query.state);
    if (query.deployment_id !== undefined) q = q.where("deployment_id", "=", query.deployment_id);
    if (query.owner_team) q = q.where("owner_team", "=", query.owner_team);
    if (query.beforeId !== undefined) q = q.where("id", "<", query.beforeId);
    return q.orderBy("id", "desc").limit(query.limit).execute();
  }

  async insertDeliveries(deliveries: NewDelivery[]): Promise<void> {
    // One notification goes to several channels: serialized once, and written in chunks so a
    // sweep's page of notices never builds one giant statement.
    const serialized = new Map<unknown, string>();
    const rows = deliveries.map((d) => {
      let notification = serialized.get(d.notification);
      if (notification === undefined) {
        notification = JSON.stringify(d.notification);
        serialized.set(d.notification, notification);
      }
      return { ...d, notification, state: "pending" as const, next_attempt_at: d.created_at };
    });
    for (const [start, end] of chunks(rows.length)) {
      await this.executor.insertInto("deliveries").values(rows.slice(start, end)).execute();
    }
  }

  /**
   * Claims up to `limit` pending deliveries that are due at `now`, leasing them until
   * `now + leaseMs`. On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets replicas claim disjoint rows
   * without waiting on each other; SQLite has one writer, so the update is the claim.
   */
  async claimDeliveries(now: number, leaseMs: number, limit: number): Promise<DeliveryRow[]> {
    const due = this.executor
      .selectFrom("deliveries as d")
      .select("d.id")
      .where("d.state", "=", sql.lit("pending"))
      .where("d.next_attempt_at", "<=", now)
      .where((eb) => eb.or([eb("d.claimed_until", "is", null), eb("d.claimed_until", "<", now)]))
      // One alert's notices reach a channel in order: a resolve never overtakes its trigger.
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("deliveries as e")
              .select("e.id")
              .whereRef("e.alert_id", "=", "d.alert_id")
              .whereRef("e.channel", "=", "d.channel")
              .whereRef("e.id", "<", "d.id")
              .where("e.state", "=", sql.lit("pending")),
          ),
        ),
      )
      .orderBy("d.next_attempt_at")
      .orderBy("d.id")
      .limit(limit);
    return this.executor
      .updateTable("deliveries")
      .set({ claimed_until: now + leaseMs })
      .where("id", "in", this.dialect === "postgres" ? due.forUpdate().skipLocked() : due)
      .returningAll()
      .execute();
  }

  /** The earliest time a pending delivery is due, so the dispatcher can sleep until then. */
  async nextDeliveryAt(): Promise<number | undefined> {
    const row = await this.executor
      .selectFrom("deliveries")
      .select((eb) => eb.fn.min("next_attempt_at").as("at"))
      .where("state", "=", sql.lit("pending"))
      .executeTakeFirst();
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }

  /** Records an attempt and its outcome in one transaction, so the log and the state agree. */
  async recordAttempt(
    attempt: AttemptRecord,
    outcome: { state: DeliveryState; next_attempt_at?: number },
  ): Promise<void> {
    await this.transaction(async (tx) => {
      await tx.executor.insertInto("delivery_attempts").values(attempt).execute();
      await tx.executor
        .updateTable("deliveries")
        .set((eb) => ({
          state: outcome.state,
          attempts: eb("attempts", "+", 1),
          claimed_until: null,
          last_error: attempt.error,
          ...(outcome.next_attempt_at === undefined ? {} : { next_attempt_at: outcome.next_attempt_at }),
          ...(outcome.state === "delivered" ? { delivered_at: attempt.at } : {}),
        }))
        .where("id", "=", attempt.delivery_id)
        .execute();
    });
  }

  async listDeliveries(query: {
    state?: DeliveryState;
    alert_id?: number;
    limit: number;
    beforeId?: number;
  }): Promise<DeliveryRow[]> {
    let q = this.executor.selectFrom("deliveries").selectAll();
    if (query.state) q = q.where("state", "=", query.state);
    if (query.alert_id !== undefined) q = q.where("alert_id", "=", query.alert_id);
    if (query.beforeId !== undefined) q = q.where("id", "<", query.beforeId);
    return q.orderBy("id", "desc").limit(query.limit).execute();
  }

  async listAttempts(deliveryIds: number[]): Promise<DeliveryAttemptRow[]> {
    if (deliveryIds.length === 0) return [];
    return this.executor
      .selectFrom("delivery_attempts")
      .selectAll()
      .where("delivery_id", "in", deliveryIds)
      .orderBy("id")
      .execute();
  }

  /** Puts failed deliveries back in the queue with fresh attempts; all of them, or those named. */
  async retryFailed(now: number, ids?: number[]): Promise<number> {
    if (ids?.length === 0) return 0;
    let q = this.executor
      .updateTable("deliveries")
      .set({ state: "pending", attempts: 0, next_attempt_at: now, claimed_until: null })
      .where("state", "=", sql.lit("failed"));
    if (ids) q = q.where("id", "in", ids);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  }
}
