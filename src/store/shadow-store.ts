import { BoundStore } from "./bound-store.js";
import { chunks } from "./write-chunks.js";

/** A label as it came: a class (string, boolean) or a number. */
export type Label = string | number | boolean;

/**
 * One request answered by a primary (or canary) and by a shadow: the gateway's ShadowPair
 * (src/gateway/traffic-report.ts), restated here so the store needs nothing of the gateway.
 */
export interface ShadowPairRecord {
  request_id: string;
  primary_id: number;
  shadow_id: number;
  at: number;
  primary_prediction: Label | null;
  shadow_prediction: Label | null;
  primary_status: number;
  shadow_status: number;
  primary_latency_ms: number;
  shadow_latency_ms: number;
}

/** A stored pair with the label of its request, when one has arrived. */
export interface LabelledStoredPair extends ShadowPairRecord {
  label: Label | null;
}

/**
 * Shadow validation's data: pairs of answers reported by gateways, and ground truth by request
 * id. A label may arrive before or after its pair; they meet when read.
 */
export interface ShadowStore {
  /** Stores pairs; one already stored for that shadow and request id is kept (a retried report). */
  insertPairs(pairs: ShadowPairRecord[], receivedAt: number): Promise<number>;
  /** Stores labels; a later label for a request replaces the first. */
  upsertFeedback(items: { request_id: string; label: Label }[], receivedAt: number): Promise<void>;
  /** The newest `limit` pairs of a shadow against one primary, newest first, each with its label. */
  pairsOf(shadowId: number, primaryId: number, limit: number): Promise<LabelledStoredPair[]>;
  /** Deletes pairs answered before `before` and labels received before it; returns how many of each. */
  prune(before: number): Promise<{ pairs: number; feedback: number }>;
}

/** SQLite allows 32,766 parameters a statement: 11 columns × 256 rows stay far under. */
export class SqlShadowStore extends BoundStore implements ShadowStore {
  async insertPairs(pairs: ShadowPairRecord[], receivedAt: number): Promise<number> {
    let inserted = 0;
    for (const [start, end] of chunks(pairs.length)) {
      const rows = pairs.slice(start, end).map((p) => ({
        shadow_id: p.shadow_id,
        request_id: p.request_id,
        primary_id: p.primary_id,
        at: p.at,
        primary_prediction: p.primary_prediction === null ? null : JSON.stringify(p.primary_prediction),
        shadow_prediction: p.shadow_prediction === null ? null : JSON.stringify(p.shadow_prediction),
        primary_status: p.primary_status,
        shadow_status: p.shadow_status,
        primary_latency_ms: p.primary_latency_ms,
        shadow_latency_ms: p.shadow_latency_ms,
        received_at: receivedAt,
      }));
      const result = await this.executor
        .insertInto("shadow_pairs")
        .values(rows)
        .onConflict((oc) => oc.columns(["shadow_id", "request_id"]).doNothing())
        .executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return inserted;
  }

  async upsertFeedback(items: { request_id: string; label: Label }[], receivedAt: number): Promise<void> {
    // The last label of a request in one batch wins, as a later batch would: one row per key, so
    // PostgreSQL's ON CONFLICT never sees the same key twice in a statement.
    const latest = new Map<string, Label>();
    for (const item of items) latest.set(item.request_id, item.label);
    const rows = [...latest].map(([request_id, label]) => ({
      request_id,
      label: JSON.stringify(label),
      received_at: receivedAt,
    }));
    for (const [start, end] of chunks(rows.length)) {
      await this.executor
        .insertInto("feedback")
        .values(rows.slice(start, end))
        .onConflict((oc) =>
          oc.column("request_id").doUpdateSet((eb) => ({
            label: eb.ref("excluded.label"),
            received_at: eb.ref("excluded.received_at"),
          })),
        )
        .execute();
    }
  }

  async pairsOf(shadowId: number, primaryId: number, limit: number): Promise<LabelledStoredPair[]> {
    const rows = await this.executor
      .selectFrom("shadow_pairs as p")
      .leftJoin("feedback as f", "f.request_id", "p.request_id")
      .select([
        "p.request_id",
        "p.primary_id",
        "p.shadow_id",
        "p.at",
        "p.primary_prediction",
        "p.shadow_prediction",
        "p.primary_status",
        "p.shadow_status",
        "p.primary_latency_ms",
        "p.shadow_latency_ms",
        "f.label",
      ])
      .where("p.shadow_id", "=", shadowId)
      .where("p.primary_id", "=", primaryId)
      .orderBy("p.at", "desc")
      .orderBy("p.request_id", "desc")
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      request_id: r.request_id,
      primary_id: r.primary_id,
      shadow_id: r.shadow_id,
      at: Number(r.at),
      primary_prediction: parseValue(r.primary_prediction),
      shadow_prediction: parseValue(r.shadow_prediction),
      primary_status: r.primary_status,
      shadow_status: r.shadow_status,
      primary_latency_ms: Number(r.primary_latency_ms),
      shadow_latency_ms: Number(r.shadow_latency_ms),
      label: parseValue(r.label),
    }));
  }

  async prune(before: number): Promise<{ pairs: number; feedback: number }> {
    const pairs = await this.executor.deleteFrom("shadow_pairs").where("at", "<", before).executeTakeFirst();
    const feedback = await this.executor
      .deleteFrom("feedback")
      .where("received_at", "<", before)
      .executeTakeFirst();
    return { pairs: Number(pairs.numDeletedRows), feedback: Number(feedback.numDeletedRows) };
  }
}

/**
 * A prediction or label column read back: JSON of a string, finite number or boolean, as the
 * store wrote it; anything else (a row written by hand) reads as no value rather than failing a view.
 */
export function parseValue(text: string | null): Label | null {
  if (text === null) return null;
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === "string" || typeof value === "boolean") return value;
    if (typeof value === "number" && Number.isFinite(value)) return value;
  } catch {
    // Falls through: not ours.
  }
  return null;
}
