import type { Logger } from "pino";
import { type FieldIssue, InputError } from "../core/errors.js";
import { isoTime } from "../core/iso-time.js";
import type {
  CanaryPrediction,
  DeploymentTraffic,
  ShadowPair,
  TrafficReport,
} from "../gateway/traffic-report.js";
import type { Actor } from "../registry/actor.js";
import type { DeploymentRow, GhostRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { GhostCursor, MinuteTraffic, TrafficMark } from "../store/traffic-store.js";
import { GhostCursorJson, type GhostsQuery } from "./traffic-input.js";

const MINUTE_MS = 60_000;
/** A report may run ahead of the server's clock by this much (clocks drift), no more. */
const MAX_CLOCK_AHEAD_MS = 5 * MINUTE_MS;
/** Minutes of traffic older than this are pruned: a canary's analyses look back minutes, not months. */
export const TRAFFIC_RETENTION_MS = 30 * 86_400_000;
/** Ghosts kept at most; the least recently seen beyond it go at the next prune. */
export const MAX_STORED_GHOSTS = 100_000;
/** Pruning is a few deletes on indexed columns, done at most this often, from `record`. */
const PRUNE_EVERY_MS = 10 * MINUTE_MS;

/**
 * Where a report's shadow pairs go: the shadow's pairing (another part's store), in the report's
 * transaction. Without one, pairs are counted and dropped.
 */
export interface PairRecorder {
  recordPairs(tx: Stores, pairs: ShadowPair[], at: number, actor: Actor): Promise<number>;
}

/**
 * Where a report's canary predictions go (the canary's labels, src/monitoring/canary-labels.ts),
 * in the report's transaction. Without one, they are counted and dropped.
 */
export interface PredictionRecorder {
  recordPredictions(tx: Stores, predictions: CanaryPrediction[], actor: Actor): Promise<{ recorded: number }>;
}

export interface TrafficMonitorOptions {
  stores: Stores;
  clock: () => number;
  pairs?: PairRecorder;
  predictions?: PredictionRecorder;
  retentionMs?: number;
  maxGhosts?: number;
  logger?: Pick<Logger, "warn" | "info">;
  /**
   * Told of each report once recorded: the traffic of the live deployments it counted, each with
   * its row, and its ghosts' requests. /metrics counts them.
   */
  onRecorded?: (recorded: {
    counted: { row: DeploymentRow; traffic: DeploymentTraffic }[];
    ghosts: number;
  }) => void;
}

/** What a report changed: deployments counted, and those skipped with why. */
export interface TrafficReceipt {
  deployments: number;
  skipped_unknown: number;
  skipped_ended: number;
  /** Deployments of another team than the token's. */
  skipped_forbidden: number;
  ghosts: number;
  pairs: number;
  /** Canary predictions stored (a retried report's, and those of unknown or ended deployments, are not). */
  predictions: number;
}

export interface GhostView {
  model: string;
  environment: string;
  requests: number;
  first_seen: string;
  last_seen: string;
  last_gateway: string;
}

/**
 * Traffic as proof of life: what gateways report is summed per deployment and minute (for the
 * canary's analyses), marks each deployment that answered as alive and each whose upstream
 * stated another version as mismatched (for the sweep's findings), and keeps the requests for
 * models the registry does not know (ghosts).
 */
export class TrafficMonitor {
  private lastPrune = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: TrafficMonitorOptions) {}

  /**
   * Records one report. Deployments the registry does not know, that have ended, or (for a
   * team's token) of another team are skipped and counted, not refused: a gateway's routes may
   * lag the registry by a report. A report that contradicts itself is refused whole (InputError).
   */
  async record(report: TrafficReport, actor: Actor): Promise<TrafficReceipt> {
    const now = this.options.clock();
    const issues = reportIssues(report, now);
    if (issues.length > 0) throw new InputError("the traffic report is not valid", issues.slice(0, 20));
    const { stores } = this.options;
    const rows = await this.deploymentsOf(report.deployments);
    const receipt: TrafficReceipt = {
      deployments: 0,
      skipped_unknown: 0,
      skipped_ended: 0,
      skipped_forbidden: 0,
      ghosts: report.ghosts.length,
      pairs: 0,
      predictions: 0,
    };
    const minutes: MinuteTraffic[] = [];
    const marks: TrafficMark[] = [];
    const counted: { row: DeploymentRow; traffic: DeploymentTraffic }[] = [];
    for (const traffic of report.deployments) {
      const row = rows.get(traffic.deployment_id);
      if (!row) receipt.skipped_unknown++;
      else if (row.status !== "active") receipt.skipped_ended++;
      else if (actor.team !== null && actor.team !== row.owner_team) receipt.skipped_forbidden++;
      else {
        receipt.deployments++;
        counted.push({ row, traffic });
        minutes.push(minuteOf(traffic));
        marks.push(markOf(traffic));
      }
    }
    await stores.transaction(async (tx) => {
      await tx.traffic.addMinutes(minutes, now);
      await tx.traffic.markDeployments(marks);
      await tx.traffic.upsertGhosts(report.ghosts.map((g) => ({ ...g, last_gateway: report.gateway })));
      const { pairs, predictions } = this.options;
      receipt.pairs =
        pairs && report.pairs.length > 0 ? await pairs.recordPairs(tx, report.pairs, now, actor) : 0;
      receipt.predictions =
        predictions && report.predictions.length > 0
          ? (await predictions.recordPredictions(tx, report.predictions, actor)).recorded
          : 0;
    });
    this.options.onRecorded?.({ counted, ghosts: report.ghosts.reduce((sum, g) => sum + g.requests, 0) });
    await this.pruneNowAndThen(now);
    return receipt;
  }

  /** Ghosts not registered (no deployment of that model in that environment), most requested first. */
  async ghosts(query: GhostsQuery): Promise<{ items: GhostView[]; next_cursor: string | null }> {
    const rows = await this.options.stores.traffic.listGhosts({
      environment: query.environment,
      limit: query.limit + 1,
      after: query.cursor === undefined ? undefined : readCursor(query.cursor),
    });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map(toGhostView),
      next_cursor: rows.length > query.limit && last ? writeCursor(last) : null,
    };
  }

  private async deploymentsOf(traffic: DeploymentTraffic[]): Promise<Map<number, DeploymentRow>> {
    const ids = [...new Set(traffic.map((t) => t.deployment_id))];
    const rows = new Map<number, DeploymentRow>();
    for (let i = 0; i < ids.length; i += 1000) {
      for (const row of await this.options.stores.deployments.findDeployments(ids.slice(i, i + 1000))) {
        rows.set(row.id, row);
      }
    }
    return rows;
  }

  /** A failed prune is logged and tried again later: the report it follows is recorded. */
  private async pruneNowAndThen(now: number): Promise<void> {
    if (now - this.lastPrune < PRUNE_EVERY_MS) return;
    this.lastPrune = now;
    try {
      const pruned = await this.options.stores.traffic.prune(
        now - (this.options.retentionMs ?? TRAFFIC_RETENTION_MS),
        this.options.maxGhosts ?? MAX_STORED_GHOSTS,
      );
      if (pruned.minutes + pruned.ghosts > 0) this.options.logger?.info(pruned, "pruned old traffic");
    } catch (error) {
      this.options.logger?.warn({ err: error }, "old traffic could not be pruned");
    }
  }
}

/** A report's counts go to the minute its window starts in (see docs: minute granularity). */
function minuteOf(t: DeploymentTraffic): MinuteTraffic {
  return {
    deployment_id: t.deployment_id,
    minute: t.window_start - (t.window_start % MINUTE_MS),
    requests: t.requests,
    errors: t.errors,
    timeouts: t.timeouts,
    latency_buckets: t.latency_buckets,
    latency_sum_ms: t.latency_sum_ms,
    shadow_skipped_oversize: t.shadow_skipped_oversize ?? 0,
  };
}

/**
 * A deployment is proven alive by a request it answered without error: one that only refused,
 * failed or timed out is not serving. A report with traffic and no mismatch shows the right
 * version, and so clears a mismatch seen before it.
 */
function markOf(t: DeploymentTraffic): TrafficMark {
  return {
    deployment_id: t.deployment_id,
    answered_at: t.requests > t.errors ? t.window_end : undefined,
    mismatch:
      t.mismatched_version === undefined ? undefined : { version: t.mismatched_version, at: t.window_end },
    matched_at: t.requests > 0 && t.mismatched_version === undefined ? t.window_end : undefined,
  };
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them.
const CONTROL = /[\u0000-\u001f\u007f]/;

/** What the schema cannot say: a report's counts and times must agree with each other and the clock. */
function reportIssues(report: TrafficReport, now: number): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const latest = now + MAX_CLOCK_AHEAD_MS;
  const ahead = "must not be more than 5 minutes after the server's time";
  if (CONTROL.test(report.gateway))
    issues.push({ field: "gateway", message: "must not contain control characters" });
  report.deployments.forEach((t, i) => {
    const at = (field: string, message: string) =>
      issues.push({ field: `deployments.${i}.${field}`, message });
    if (t.window_end < t.window_start) at("window_end", "must not be before window_start");
    if (t.window_end > latest) at("window_end", ahead);
    if (t.errors > t.requests) at("errors", "must not be more than requests");
    if (t.timeouts > t.errors) at("timeouts", "must not be more than errors (a timeout is an error)");
    if (t.latency_buckets.reduce((a, b) => a + b, 0) !== t.requests)
      at("latency_buckets", "must add up to requests");
    if (t.mismatched_version !== undefined && CONTROL.test(t.mismatched_version))
      at("mismatched_version", "must not contain control characters");
  });
  report.ghosts.forEach((g, i) => {
    const at = (field: string, message: string) => issues.push({ field: `ghosts.${i}.${field}`, message });
    if (g.last_seen < g.first_seen) at("last_seen", "must not be before first_seen");
    if (g.last_seen > latest) at("last_seen", ahead);
    if (CONTROL.test(g.model)) at("model", "must not contain control characters");
    if (CONTROL.test(g.environment)) at("environment", "must not contain control characters");
  });
  return issues;
}

function toGhostView(row: GhostRow): GhostView {
  return {
    model: row.model,
    environment: row.environment,
    requests: row.requests,
    first_seen: isoTime(row.first_seen),
    last_seen: isoTime(row.last_seen),
    last_gateway: row.last_gateway,
  };
}

/** An opaque cursor: the last ghost of a page, as base64url JSON. */
function writeCursor(row: GhostRow): string {
  return Buffer.from(JSON.stringify([row.requests, row.model, row.environment])).toString("base64url");
}

function readCursor(cursor: string): GhostCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  const result = GhostCursorJson.safeParse(parsed);
  if (!result.success) {
    throw new InputError("the cursor is not valid", [
      { field: "cursor", message: "must be a next_cursor of a previous page" },
    ]);
  }
  const [requests, model, environment] = result.data;
  return { requests, model, environment };
}
