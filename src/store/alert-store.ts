import { sql } from "kysely";
import { ACTION_KINDS } from "../core/finding.js";
import type { AlertState } from "../core/words.js";
import { BoundStore } from "./bound-store.js";
import type { LiveScope } from "./deployment-store.js";
import { parseJsonColumn } from "./json-columns.js";
import type { AlertRow } from "./schema.js";
import { chunks } from "./write-chunks.js";

/**
 * An open alert of a live deployment as the fleet rows and /metrics read it: the drifted share
 * its finding measured (drifted alerts only), and nothing else of its detail.
 */
export interface LiveAlertKey {
  deployment_id: number;
  kind: string;
  severity: string;
  drifted_share: number | null;
}

/** What planning reads of an open alert. */
export type OpenAlertKey = Pick<AlertRow, "id" | "deployment_id" | "kind" | "last_notified_at">;

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

export interface AlertQuery {
  state?: AlertState;
  deployment_id?: number;
  owner_team?: string;
  limit: number;
  beforeId?: number;
}

/** Alerts: findings that reached people, deduplicated by deployment and kind, open until resolved. */
export interface AlertStore {
  /** The open alerts of these deployments (every registration that supersedes asks). */
  openAlertsFor(deploymentIds: number[]): Promise<AlertRow[]>;
  /** Open alerts per kind. */
  countOpenAlerts(): Promise<Record<string, number>>;
  /** Open alerts per kind and severity, of every deployment (an action's alert outlives it). */
  countOpenAlertsBySeverity(): Promise<{ kind: string; severity: string; count: number }[]>;
  /** The open alerts of the live deployments in `scope`, in one query (see LiveAlertKey). */
  openAlertsOfLive(scope?: LiveScope): Promise<LiveAlertKey[]>;
  /**
   * Open alerts of the deployments with ids in [fromId, toId]: one index range for a sweep's
   * page of deployments, where a list of a thousand ids would cost a thousand probes.
   */
  openAlertsInRange(fromId: number, toId: number): Promise<OpenAlertKey[]>;
  /** Alerts a review acknowledged, of the deployments with ids in [fromId, toId]. */
  reviewedAlertsInRange(
    fromId: number,
    toId: number,
  ): Promise<Pick<AlertRow, "deployment_id" | "kind" | "resolved_at">[]>;
  /** Whole alert rows by id. */
  findAlerts(ids: number[]): Promise<AlertRow[]>;
  /** Alerts of these deployments that a review acknowledged (resolution `reviewed`). */
  reviewedAlertsFor(deploymentIds: number[]): Promise<AlertRow[]>;
  /**
   * Open alerts whose deployment is no longer live: their cause went away with it. Not those of
   * ACTION_KINDS, which report why it ended (a canary rolled back) and stay open to be seen.
   */
  openAlertsOfEndedDeployments(limit: number, afterId?: number): Promise<(AlertRow & { status: string })[]>;
  insertAlerts(alerts: NewAlert[]): Promise<AlertRow[]>;
  /** Records a reminder; only alerts still open count. */
  markReminded(ids: number[], at: number): Promise<void>;
  /**
   * Rewrites an open alert's summary and detail, sending nothing: what was done about it, told
   * by the notice that follows (its resolution). A resolved alert keeps what it said.
   */
  amendAlert(id: number, summary: string, detail: Record<string, unknown>): Promise<void>;
  /** Resolves open alerts; returns the ones this call resolved (not those resolved meanwhile). */
  resolveAlerts(ids: number[], at: number, resolution: string): Promise<AlertRow[]>;
  /** Alerts, newest first. */
  listAlerts(query: AlertQuery): Promise<AlertRow[]>;
  /**
   * What a rot report reads of alerts, newest first: those of `kinds` opened at or after
   * `opened_since` (open or resolved since), and the open ones of `open_kinds` whenever they
   * opened; of one team or all, at most `limit`.
   */
  reportAlerts(query: ReportAlertQuery): Promise<AlertRow[]>;
}

export interface ReportAlertQuery {
  opened_since: number;
  kinds: string[];
  open_kinds: string[];
  owner_team?: string;
  limit: number;
}

export class SqlAlertStore extends BoundStore implements AlertStore {
  async openAlertsFor(deploymentIds: number[]): Promise<AlertRow[]> {
    if (deploymentIds.length === 0) return [];
    // Asked in every registration transaction that supersedes: on SQLite, one prepared statement
    // per deployment on the connection itself (see DirectSqlite).
    const direct = this.direct;
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

  async countOpenAlerts(): Promise<Record<string, number>> {
    const rows = await this.executor
      .selectFrom("alerts")
      .select(["kind", (eb) => eb.fn.countAll<number>().as("count")])
      .where("state", "=", sql.lit("open"))
      .groupBy("kind")
      .execute();
    return Object.fromEntries(rows.map((r) => [r.kind, Number(r.count)]));
  }

  async countOpenAlertsBySeverity(): Promise<{ kind: string; severity: string; count: number }[]> {
    const rows = await this.executor
      .selectFrom("alerts")
      .select(["kind", "severity", (eb) => eb.fn.countAll<number>().as("count")])
      .where("state", "=", sql.lit("open"))
      .groupBy(["kind", "severity"])
      .execute();
    return rows.map((r) => ({ kind: r.kind, severity: r.severity, count: Number(r.count) }));
  }

  async openAlertsOfLive(scope: LiveScope = {}): Promise<LiveAlertKey[]> {
    // Only a drifted alert's detail is read (its share), not every open alert's evidence.
    let query = this.executor
      .selectFrom("alerts")
      .innerJoin("deployments", "deployments.id", "alerts.deployment_id")
      .select([
        "alerts.deployment_id",
        "alerts.kind",
        "alerts.severity",
        sql<
          string | null
        >`case when ${sql.ref("alerts.kind")} = 'drifted' then ${sql.ref("alerts.detail")} end`.as("detail"),
      ])
      .where("alerts.state", "=", sql.lit("open"))
      .where("deployments.status", "=", sql.lit("active"));
    if (scope.owner_team !== undefined) query = query.where("deployments.owner_team", "=", scope.owner_team);
    if (scope.environment !== undefined)
      query = query.where("deployments.environment", "=", scope.environment);
    if (scope.model !== undefined) query = query.where("deployments.model", "=", scope.model);
    const rows = await query.execute();
    return rows.map((row) => ({
      deployment_id: row.deployment_id,
      kind: row.kind,
      severity: row.severity,
      drifted_share: row.detail === null ? null : driftedShareOf(row.detail),
    }));
  }

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

  async findAlerts(ids: number[]): Promise<AlertRow[]> {
    if (ids.length === 0) return [];
    return this.executor.selectFrom("alerts").selectAll().where("id", "in", ids).execute();
  }

  async reviewedAlertsFor(deploymentIds: number[]): Promise<AlertRow[]> {
    if (deploymentIds.length === 0) return [];
    return this.executor
      .selectFrom("alerts")
      .selectAll()
      .where("deployment_id", "in", deploymentIds)
      .where("resolution", "=", sql.lit("reviewed"))
      .execute();
  }

  async openAlertsOfEndedDeployments(limit: number, afterId = 0): Promise<(AlertRow & { status: string })[]> {
    return this.executor
      .selectFrom("alerts")
      .innerJoin("deployments", "deployments.id", "alerts.deployment_id")
      .selectAll("alerts")
      .select("deployments.status")
      .where("alerts.state", "=", sql.lit("open"))
      .where("deployments.status", "<>", sql.lit("active"))
      .where("alerts.kind", "not in", [...ACTION_KINDS])
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

  async markReminded(ids: number[], at: number): Promise<void> {
    if (ids.length === 0) return;
    await this.executor
      .updateTable("alerts")
      .set((eb) => ({ last_notified_at: at, notifications: eb("notifications", "+", 1) }))
      .where("id", "in", ids)
      .where("state", "=", sql.lit("open"))
      .execute();
  }

  async amendAlert(id: number, summary: string, detail: Record<string, unknown>): Promise<void> {
    await this.executor
      .updateTable("alerts")
      .set({ summary, detail: JSON.stringify(detail) })
      .where("id", "=", id)
      .where("state", "=", sql.lit("open"))
      .execute();
  }

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

  async listAlerts(query: AlertQuery): Promise<AlertRow[]> {
    let q = this.executor.selectFrom("alerts").selectAll();
    if (query.state) q = q.where("state", "=", query.state);
    if (query.deployment_id !== undefined) q = q.where("deployment_id", "=", query.deployment_id);
    if (query.owner_team) q = q.where("owner_team", "=", query.owner_team);
    if (query.beforeId !== undefined) q = q.where("id", "<", query.beforeId);
    return q.orderBy("id", "desc").limit(query.limit).execute();
  }

  async reportAlerts(query: ReportAlertQuery): Promise<AlertRow[]> {
    let q = this.executor
      .selectFrom("alerts")
      .selectAll()
      .where((eb) => {
        const either = [];
        if (query.kinds.length > 0)
          either.push(eb.and([eb("kind", "in", query.kinds), eb("opened_at", ">=", query.opened_since)]));
        if (query.open_kinds.length > 0)
          either.push(eb.and([eb("kind", "in", query.open_kinds), eb("state", "=", sql.lit("open"))]));
        return either.length > 0 ? eb.or(either) : eb.lit(false);
      });
    if (query.owner_team) q = q.where("owner_team", "=", query.owner_team);
    return q.orderBy("id", "desc").limit(query.limit).execute();
  }
}

/** The `drifted_share` a drifted alert's evidence recorded (see driftFinding), or null. */
function driftedShareOf(detail: string): number | null {
  const share = parseJsonColumn("alert_detail", detail).drifted_share;
  return typeof share === "number" && Number.isFinite(share) ? share : null;
}
