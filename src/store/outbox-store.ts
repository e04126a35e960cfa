import { sql } from "kysely";
import type { DeliveryState } from "../core/words.js";
import { BoundStore } from "./bound-store.js";
import { inTransaction } from "./database.js";
import type { DeliveryAttemptRow, DeliveryRow } from "./schema.js";
import { chunks } from "./write-chunks.js";

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

export interface DeliveryQuery {
  state?: DeliveryState;
  alert_id?: number;
  limit: number;
  beforeId?: number;
}

/**
 * The delivery outbox: notices to channels, written in the transaction of the change that caused
 * them, then claimed, attempted and logged until delivered or failed for good.
 */
export interface OutboxStore {
  insertDeliveries(deliveries: NewDelivery[]): Promise<void>;
  /**
   * Claims up to `limit` pending deliveries that are due at `now`, leasing them until
   * `now + leaseMs`; replicas claim disjoint ones.
   */
  claimDeliveries(now: number, leaseMs: number, limit: number): Promise<DeliveryRow[]>;
  /** The earliest time a pending delivery is due, so the dispatcher can sleep until then. */
  nextDeliveryAt(): Promise<number | undefined>;
  /** Records an attempt and its outcome in one transaction, so the log and the state agree. */
  recordAttempt(
    attempt: AttemptRecord,
    outcome: { state: DeliveryState; next_attempt_at?: number },
  ): Promise<void>;
  /** Deliveries, newest first. */
  listDeliveries(query: DeliveryQuery): Promise<DeliveryRow[]>;
  /** The attempts of these deliveries, oldest first. */
  listAttempts(deliveryIds: number[]): Promise<DeliveryAttemptRow[]>;
  /** Puts failed deliveries back in the queue with fresh attempts; all of them, or those named. */
  retryFailed(now: number, ids?: number[]): Promise<number>;
  /** Deliveries not delivered, pending or dead-lettered (`failed`), counted per channel. */
  countWaiting(): Promise<{ channel: string; state: "pending" | "failed"; count: number }[]>;
}

export class SqlOutboxStore extends BoundStore implements OutboxStore {
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
   * On PostgreSQL, `FOR UPDATE SKIP LOCKED` lets replicas claim disjoint rows without waiting on
   * each other; SQLite has one writer, so the update is the claim.
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

  async nextDeliveryAt(): Promise<number | undefined> {
    const row = await this.executor
      .selectFrom("deliveries")
      .select((eb) => eb.fn.min("next_attempt_at").as("at"))
      .where("state", "=", sql.lit("pending"))
      .executeTakeFirst();
    return row?.at === null || row?.at === undefined ? undefined : Number(row.at);
  }

  async recordAttempt(
    attempt: AttemptRecord,
    outcome: { state: DeliveryState; next_attempt_at?: number },
  ): Promise<void> {
    await inTransaction(this.database, async (trx) => {
      await trx.insertInto("delivery_attempts").values(attempt).execute();
      await trx
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

  async listDeliveries(query: DeliveryQuery): Promise<DeliveryRow[]> {
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

  async retryFailed(now: number, ids?: number[]): Promise<number> {
    if (ids?.length === 0) return 0;
    let q = this.executor
      .updateTable("deliveries")
      .set({ state: "pending", attempts: 0, next_attempt_at: now, claimed_until: null })
      .where("state", "=", sql.lit("failed"));
    if (ids) q = q.where("id", "in", ids);
    return Number((await q.executeTakeFirst()).numUpdatedRows);
  }

  async countWaiting(): Promise<{ channel: string; state: "pending" | "failed"; count: number }[]> {
    // Through deliveries_state: the delivered, which pile up, are never read.
    const rows = await this.executor
      .selectFrom("deliveries")
      .select(["channel", "state", (eb) => eb.fn.countAll<number>().as("count")])
      .where("state", "in", [sql.lit<DeliveryState>("pending"), sql.lit<DeliveryState>("failed")])
      .groupBy(["channel", "state"])
      .execute();
    return rows.map((r) => ({
      channel: r.channel,
      state: r.state as "pending" | "failed",
      count: Number(r.count),
    }));
  }
}
