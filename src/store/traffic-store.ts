import { type Expression, type ExpressionBuilder, sql, type UpdateObject } from "kysely";
import { BoundStore } from "./bound-store.js";
import type { GhostRow, GhostsTable, Schema } from "./schema.js";
import { chunks } from "./write-chunks.js";

/** The latency histogram's bucket columns, `bucket_0` … `bucket_16` (the last the overflow). */
export const BUCKET_COLUMNS = [
  "bucket_0",
  "bucket_1",
  "bucket_2",
  "bucket_3",
  "bucket_4",
  "bucket_5",
  "bucket_6",
  "bucket_7",
  "bucket_8",
  "bucket_9",
  "bucket_10",
  "bucket_11",
  "bucket_12",
  "bucket_13",
  "bucket_14",
  "bucket_15",
  "bucket_16",
] as const;

/** Counts of a deployment's traffic: of one minute as written, or summed over a window as read. */
export interface TrafficCounts {
  requests: number;
  errors: number;
  timeouts: number;
  /** One count per bucket of BUCKET_COLUMNS, the overflow last. */
  latency_buckets: number[];
  latency_sum_ms: number;
  shadow_skipped_oversize: number;
}

export interface MinuteTraffic extends TrafficCounts {
  deployment_id: number;
  /** Epoch ms of the minute's start. */
  minute: number;
}

/** What one report says of a deployment's liveness and of its upstream's version. */
export interface TrafficMark {
  deployment_id: number;
  /** When it last answered a request without error; undefined when the report proves no life. */
  answered_at?: number;
  /** The version its upstream stated, when that differed from the registry's, and when. */
  mismatch?: { version: string; at: number };
  /** A report with traffic and no mismatch, ending then: a mismatch seen before it is over. */
  matched_at?: number;
}

/** A ghost as a report adds it: its requests are added to those stored, its times widen theirs. */
export type NewGhost = GhostsTable;

/** Where a page of ghosts resumes: after this one in the list's order. */
export interface GhostCursor {
  requests: number;
  model: string;
  environment: string;
}

/**
 * Traffic that gateways report: per deployment and minute, summed over gateways; the liveness
 * and version marks it leaves on deployments; and the ghosts, requests for unknown models.
 */
export interface TrafficStore {
  /** Adds each row's counts to its deployment's minute, whatever gateways added before. */
  addMinutes(rows: MinuteTraffic[], at: number): Promise<void>;
  /** Keeps each deployment's last traffic and version mismatch up to date; later marks win. */
  markDeployments(marks: TrafficMark[]): Promise<void>;
  /** Adds to each ghost's requests and widens its first and last seen. */
  upsertGhosts(ghosts: NewGhost[]): Promise<void>;
  /**
   * Each deployment's traffic summed over the minutes that start in [from, to): requests,
   * errors, timeouts and the latency histogram. A deployment with no traffic there is absent.
   */
  window(deploymentIds: number[], from: number, to: number): Promise<Map<number, TrafficCounts>>;
  /**
   * Ghosts of models with no deployment in the ghost's environment, most requested first (then
   * by model and environment), after `after`.
   */
  listGhosts(query: { environment?: string; limit: number; after?: GhostCursor }): Promise<GhostRow[]>;
  /**
   * Deletes minutes and ghosts last seen before `before`, then the ghosts least recently seen
   * beyond `maxGhosts`: storage stays bounded whatever names clients make up.
   */
  prune(before: number, maxGhosts: number): Promise<{ minutes: number; ghosts: number }>;
}

/** A column of the row being updated, and of the row that conflicted (ON CONFLICT's `excluded`). */
const added = (table: "traffic_minutes" | "ghosts", column: string) =>
  sql<number>`${sql.ref(`${table}.${column}`)} + ${sql.ref(`excluded.${column}`)}`;

export class SqlTrafficStore extends BoundStore implements TrafficStore {
  async addMinutes(rows: MinuteTraffic[], at: number): Promise<void> {
    // One statement must not touch a row twice (PostgreSQL refuses): same minutes are summed first.
    const merged = new Map<string, MinuteTraffic>();
    for (const row of rows) {
      const key = `${row.deployment_id}:${row.minute}`;
      const seen = merged.get(key);
      merged.set(key, seen ? sumMinutes(seen, row) : row);
    }
    const values = [...merged.values()].map((row) => {
      const buckets = Object.fromEntries(BUCKET_COLUMNS.map((c, i) => [c, row.latency_buckets[i] ?? 0]));
      return {
        deployment_id: row.deployment_id,
        minute: row.minute,
        requests: row.requests,
        errors: row.errors,
        timeouts: row.timeouts,
        latency_sum_ms: row.latency_sum_ms,
        shadow_skipped_oversize: row.shadow_skipped_oversize,
        ...buckets,
        updated_at: at,
      };
    });
    for (const [start, end] of chunks(values.length)) {
      await this.executor
        .insertInto("traffic_minutes")
        .values(values.slice(start, end))
        .onConflict((oc) =>
          oc.columns(["deployment_id", "minute"]).doUpdateSet({
            requests: added("traffic_minutes", "requests"),
            errors: added("traffic_minutes", "errors"),
            timeouts: added("traffic_minutes", "timeouts"),
            latency_sum_ms: added("traffic_minutes", "latency_sum_ms"),
            shadow_skipped_oversize: added("traffic_minutes", "shadow_skipped_oversize"),
            ...Object.fromEntries(BUCKET_COLUMNS.map((c) => [c, added("traffic_minutes", c)])),
            updated_at: sql.ref("excluded.updated_at"),
          }),
        )
        .execute();
    }
  }

  async markDeployments(marks: TrafficMark[]): Promise<void> {
    for (const mark of marks) {
      const set: UpdateObject<Schema, "deployments"> = {};
      if (mark.answered_at !== undefined) {
        set.last_traffic_at = later(sql.ref("last_traffic_at"), mark.answered_at);
      }
      if (mark.mismatch) {
        set.reported_version = mark.mismatch.version;
        set.version_mismatch_at = later(sql.ref("version_mismatch_at"), mark.mismatch.at);
      } else if (mark.matched_at !== undefined) {
        // Cleared only by a report that ends after the mismatch was seen: an older report that
        // arrived late says nothing of now.
        const clear = sql<boolean>`version_mismatch_at is not null and version_mismatch_at <= ${mark.matched_at}`;
        set.reported_version = sql<string | null>`case when ${clear} then null else reported_version end`;
        set.version_mismatch_at = sql<
          number | null
        >`case when ${clear} then null else version_mismatch_at end`;
      }
      if (Object.keys(set).length === 0) continue;
      await this.executor.updateTable("deployments").set(set).where("id", "=", mark.deployment_id).execute();
    }
  }

  async upsertGhosts(ghosts: NewGhost[]): Promise<void> {
    const merged = new Map<string, NewGhost>();
    for (const ghost of ghosts) {
      const key = `${ghost.environment}\u0000${ghost.model}`;
      const seen = merged.get(key);
      merged.set(
        key,
        seen
          ? {
              ...ghost,
              requests: seen.requests + ghost.requests,
              first_seen: Math.min(seen.first_seen, ghost.first_seen),
              last_seen: Math.max(seen.last_seen, ghost.last_seen),
            }
          : ghost,
      );
    }
    const values = [...merged.values()];
    for (const [start, end] of chunks(values.length)) {
      await this.executor
        .insertInto("ghosts")
        .values(values.slice(start, end))
        .onConflict((oc) =>
          oc.columns(["model", "environment"]).doUpdateSet({
            requests: added("ghosts", "requests"),
            first_seen: sql`case when excluded.first_seen < ghosts.first_seen then excluded.first_seen else ghosts.first_seen end`,
            last_seen: sql`case when excluded.last_seen > ghosts.last_seen then excluded.last_seen else ghosts.last_seen end`,
            last_gateway: sql.ref("excluded.last_gateway"),
          }),
        )
        .execute();
    }
  }

  async window(deploymentIds: number[], from: number, to: number): Promise<Map<number, TrafficCounts>> {
    const result = new Map<number, TrafficCounts>();
    if (deploymentIds.length === 0 || to <= from) return result;
    const sum = (column: string) => sql<number | string>`sum(${sql.ref(column)})`.as(column);
    for (let i = 0; i < deploymentIds.length; i += 1000) {
      const rows = await this.executor
        .selectFrom("traffic_minutes")
        .select([
          "deployment_id",
          sum("requests"),
          sum("errors"),
          sum("timeouts"),
          sum("latency_sum_ms"),
          sum("shadow_skipped_oversize"),
          ...BUCKET_COLUMNS.map(sum),
        ])
        .where("deployment_id", "in", deploymentIds.slice(i, i + 1000))
        .where("minute", ">=", from)
        .where("minute", "<", to)
        .groupBy("deployment_id")
        .execute();
      // PostgreSQL's sum of a bigint is a numeric, which pg hands over as text.
      for (const row of rows as unknown as Record<string, number | string>[]) {
        result.set(Number(row.deployment_id), {
          requests: Number(row.requests),
          errors: Number(row.errors),
          timeouts: Number(row.timeouts),
          latency_sum_ms: Number(row.latency_sum_ms),
          shadow_skipped_oversize: Number(row.shadow_skipped_oversize),
          latency_buckets: BUCKET_COLUMNS.map((c) => Number(row[c])),
        });
      }
    }
    return result;
  }

  async listGhosts(query: { environment?: string; limit: number; after?: GhostCursor }): Promise<GhostRow[]> {
    let q = this.executor
      .selectFrom("ghosts")
      .selectAll("ghosts")
      .where(({ not, exists, selectFrom }) =>
        not(
          exists(
            selectFrom("deployments")
              .select(sql.lit(1).as("one"))
              .whereRef("deployments.model", "=", "ghosts.model")
              .whereRef("deployments.environment", "=", "ghosts.environment"),
          ),
        ),
      );
    if (query.environment !== undefined) q = q.where("ghosts.environment", "=", query.environment);
    const after = query.after;
    if (after) q = q.where((eb) => afterCursor(eb, after));
    const rows = await q
      .orderBy("ghosts.requests", "desc")
      .orderBy("ghosts.model")
      .orderBy("ghosts.environment")
      .limit(query.limit)
      .execute();
    return rows.map((r) => ({ ...r, requests: Number(r.requests) }));
  }

  async prune(before: number, maxGhosts: number): Promise<{ minutes: number; ghosts: number }> {
    const minutes = await this.executor.deleteFrom("traffic_minutes").where("minute", "<", before).execute();
    const old = await this.executor.deleteFrom("ghosts").where("last_seen", "<", before).execute();
    // The last_seen of the newest ghost beyond the cap: it and every older one go.
    const beyond = await this.executor
      .selectFrom("ghosts")
      .select("last_seen")
      .orderBy("last_seen", "desc")
      .limit(1)
      .offset(maxGhosts)
      .executeTakeFirst();
    const capped =
      beyond === undefined
        ? []
        : await this.executor.deleteFrom("ghosts").where("last_seen", "<=", beyond.last_seen).execute();
    const deleted = (results: { numDeletedRows: bigint }[]) =>
      results.reduce((n, r) => n + Number(r.numDeletedRows), 0);
    return { minutes: deleted(minutes), ghosts: deleted(old) + deleted(capped) };
  }
}

/** The later of a column and a time: a report that arrives late does not move a mark back. */
function later(column: Expression<unknown>, at: number) {
  return sql<number>`case when ${column} is null or ${column} < ${at} then ${at} else ${column} end`;
}

/** Rows after the cursor in the order (requests desc, model, environment). */
function afterCursor(eb: ExpressionBuilder<Schema, "ghosts">, after: GhostCursor) {
  return eb.or([
    eb("ghosts.requests", "<", after.requests),
    eb.and([eb("ghosts.requests", "=", after.requests), eb("ghosts.model", ">", after.model)]),
    eb.and([
      eb("ghosts.requests", "=", after.requests),
      eb("ghosts.model", "=", after.model),
      eb("ghosts.environment", ">", after.environment),
    ]),
  ]);
}

function sumMinutes(a: MinuteTraffic, b: MinuteTraffic): MinuteTraffic {
  return {
    deployment_id: a.deployment_id,
    minute: a.minute,
    requests: a.requests + b.requests,
    errors: a.errors + b.errors,
    timeouts: a.timeouts + b.timeouts,
    latency_sum_ms: a.latency_sum_ms + b.latency_sum_ms,
    shadow_skipped_oversize: a.shadow_skipped_oversize + b.shadow_skipped_oversize,
    latency_buckets: a.latency_buckets.map((n, i) => n + (b.latency_buckets[i] ?? 0)),
  };
}
