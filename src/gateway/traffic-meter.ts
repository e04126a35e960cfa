import type { Exchange, GatewayObserver, ModelRoutes } from "./exchange.js";
import {
  type CanaryPrediction,
  type DeploymentTraffic,
  type GhostTraffic,
  LATENCY_BOUNDS_MS,
  type ShadowPair,
  type TrafficReport,
} from "./traffic-report.js";

/** Where a meter's reports go: the registry's database, or a registry server. */
export interface TrafficSink {
  /**
   * Delivers one report. A rejection means "try again with the next report"; a
   * RejectedReportError means the report itself was refused and must not be sent again.
   */
  send(report: TrafficReport): Promise<void>;
}

/** The registry refused a report as invalid: sending it again would fail again, so it is dropped. */
export class RejectedReportError extends Error {
  override name = "RejectedReportError";
}

/** What a meter logs: pino's shape, so a gateway's logger fits. */
export interface MeterLogger {
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

export interface TrafficMeterOptions {
  sink: TrafficSink;
  /** Which gateway reports (host:port or a name): the ghosts' source, and in logs. */
  gateway: string;
  /** The gateway's environment: where its ghosts were asked for. */
  environment: string;
  /** How often a report is sent, ms (default 5 s). */
  flushIntervalMs?: number;
  /** Distinct ghost names held between reports (default 1000); more are counted as dropped. */
  maxGhosts?: number;
  /** Shadow pairs held between reports (default 20,000); more are dropped, oldest first. */
  maxPairs?: number;
  /** Shadow pairs in one report (default 2,000): the rest wait for the next. */
  maxPairsPerReport?: number;
  /** Canary predictions held between reports (default 50,000); more are dropped, oldest first. */
  maxPredictions?: number;
  /** Canary predictions in one report (default 5,000): the rest wait for the next. */
  maxPredictionsPerReport?: number;
  clock?: () => number;
  logger?: MeterLogger;
}

/** One deployment's counters: a DeploymentTraffic being filled in. */
type Counter = Omit<DeploymentTraffic, "latency_buckets"> & {
  latency_buckets: number[];
  shadow_skipped_oversize: number;
};

/** A ghost name is kept only when the registry's report schema will take it. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them.
const GHOST_NAME = /^[^\u0000-\u001f\u007f]{1,128}$/;
const MAX_VERSION = 128;

/**
 * Counts what a gateway answered, per deployment (requests, errors, timeouts, a latency
 * histogram, the upstream's stated version when it is not the registry's), and the requests for
 * models the registry does not know, and sends it all as one TrafficReport every
 * `flushIntervalMs`. Counting is a few additions on the request's path; sending happens on a
 * timer, one report at a time, and never holds a request up.
 *
 * A report that could not be delivered is kept and merged into the next, so a registry that is
 * away loses no counts; what is kept stays bounded however long it is away: counters are per
 * deployment (summed, not queued), ghosts are capped, pairs and canary predictions are capped,
 * oldest dropped first.
 */
export class TrafficMeter implements GatewayObserver {
  private readonly flushIntervalMs: number;
  private readonly maxGhosts: number;
  private readonly maxPairs: number;
  private readonly maxPairsPerReport: number;
  private readonly predictionLimits: { held: number; perReport: number };
  private readonly clock: () => number;
  private counters = new Map<number, Counter>();
  private ghosts = new Map<string, GhostTraffic>();
  private pairs: ShadowPair[] = [];
  private predictions: CanaryPrediction[] = [];
  private windowStart: number;
  /** Counts of reports that could not be sent, merged into the next. */
  private unsent: { deployments: Map<number, Counter>; ghosts: Map<string, GhostTraffic> } | undefined;
  private droppedGhosts = 0;
  private droppedPairs = 0;
  private droppedPredictions = 0;
  private sending: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: TrafficMeterOptions) {
    this.flushIntervalMs = options.flushIntervalMs ?? 5000;
    this.maxGhosts = options.maxGhosts ?? 1000;
    this.maxPairs = options.maxPairs ?? 20_000;
    this.maxPairsPerReport = options.maxPairsPerReport ?? 2000;
    this.predictionLimits = {
      held: options.maxPredictions ?? 50_000,
      perReport: options.maxPredictionsPerReport ?? 5000,
    };
    this.clock = options.clock ?? Date.now;
    this.windowStart = this.clock();
    if (!(this.flushIntervalMs > 0)) throw new RangeError("the flush interval must be positive");
    this.timer = setInterval(() => void this.flush(), this.flushIntervalMs);
    // A meter alone must not keep the process alive: the gateway's server does.
    this.timer.unref();
  }

  answered(exchange: Exchange, routes: ModelRoutes): void {
    const { target } = exchange;
    let counter = this.counters.get(target.deployment_id);
    if (!counter) {
      counter = emptyCounter(target.deployment_id, this.windowStart);
      this.counters.set(target.deployment_id, counter);
    }
    counter.requests++;
    if (exchange.outcome !== "ok") counter.errors++;
    if (exchange.outcome === "timeout") counter.timeouts++;
    const latency = Number.isFinite(exchange.latency_ms) && exchange.latency_ms > 0 ? exchange.latency_ms : 0;
    const bucket = bucketOf(latency);
    counter.latency_buckets[bucket] = (counter.latency_buckets[bucket] ?? 0) + 1;
    counter.latency_sum_ms += latency;
    const stated = exchange.upstream_version;
    if (stated !== undefined && stated !== "" && stated !== target.model_version) {
      counter.mismatched_version = stated.slice(0, MAX_VERSION);
    }
    if (exchange.request_body_oversize && routes.shadows.length > 0) counter.shadow_skipped_oversize++;
  }

  ghost(model: string, at: number): void {
    const seen = this.ghosts.get(model);
    if (seen) {
      seen.requests++;
      if (at > seen.last_seen) seen.last_seen = at;
      if (at < seen.first_seen) seen.first_seen = at;
      return;
    }
    // Model names come from clients: a bounded number of well-formed ones is kept.
    if (this.ghosts.size >= this.maxGhosts || !GHOST_NAME.test(model)) {
      this.droppedGhosts++;
      return;
    }
    const time = Math.max(0, Math.floor(at));
    this.ghosts.set(model, {
      model,
      environment: this.options.environment,
      requests: 1,
      first_seen: time,
      last_seen: time,
    });
  }

  /** Shadow pairs another observer made (the shadow's mirror): they ride on the next report. */
  addPairs(pairs: ShadowPair[]): void {
    for (const pair of pairs) this.pairs.push(pair);
    const over = this.pairs.length - this.maxPairs;
    if (over > 0) {
      this.pairs.splice(0, over);
      this.droppedPairs += over;
    }
  }

  /** What a model with a canary predicted, per request and side (CanaryRecorder): on the next report. */
  addPredictions(predictions: CanaryPrediction[]): void {
    for (const prediction of predictions) this.predictions.push(prediction);
    const over = this.predictions.length - this.predictionLimits.held;
    if (over > 0) {
      this.predictions.splice(0, over);
      this.droppedPredictions += over;
    }
  }

  /**
   * Sends what was counted since the last report (and what earlier reports could not deliver).
   * One send at a time: a call while one is under way waits for it and sends nothing more.
   */
  flush(): Promise<void> {
    if (this.sending) return this.sending;
    this.sending = this.sendOnce().finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  /** Stops the timer and sends what is left, once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.sending;
    await this.flush();
  }

  private async sendOnce(): Promise<void> {
    const now = this.clock();
    const deployments = this.counters;
    const ghosts = this.ghosts;
    this.counters = new Map();
    this.ghosts = new Map();
    for (const counter of deployments.values()) counter.window_end = Math.max(now, counter.window_start);
    this.windowStart = now;
    const merged = this.mergeUnsent(deployments, ghosts);
    this.logDropped();
    const pairs = this.pairs.splice(0, this.maxPairsPerReport);
    const predictions = this.predictions.splice(0, this.predictionLimits.perReport);
    const nothing = merged.deployments.size === 0 && merged.ghosts.size === 0;
    if (nothing && pairs.length === 0 && predictions.length === 0) return;
    const report: TrafficReport = {
      gateway: this.options.gateway,
      deployments: [...merged.deployments.values()].map(toTraffic),
      ghosts: [...merged.ghosts.values()],
      pairs,
      predictions,
    };
    try {
      await this.options.sink.send(report);
    } catch (error) {
      if (error instanceof RejectedReportError) {
        this.options.logger?.error(
          { err: error, deployments: report.deployments.length, ghosts: report.ghosts.length },
          "the registry refused a traffic report; its counts are dropped",
        );
        return;
      }
      this.options.logger?.warn(
        { err: error, deployments: report.deployments.length, ghosts: report.ghosts.length },
        "a traffic report could not be sent; its counts go with the next",
      );
      this.unsent = merged;
      // Pairs and predictions that could not be sent go back first, within the caps.
      this.pairs = pairs.concat(this.pairs);
      this.addPairs([]);
      this.predictions = predictions.concat(this.predictions);
      this.addPredictions([]);
    }
  }

  /** This report's counts with those of reports not yet delivered: per deployment and ghost, summed. */
  private mergeUnsent(
    deployments: Map<number, Counter>,
    ghosts: Map<string, GhostTraffic>,
  ): { deployments: Map<number, Counter>; ghosts: Map<string, GhostTraffic> } {
    const unsent = this.unsent;
    this.unsent = undefined;
    if (!unsent) return { deployments, ghosts };
    for (const [id, counter] of deployments) {
      const earlier = unsent.deployments.get(id);
      unsent.deployments.set(id, earlier ? addCounters(earlier, counter) : counter);
    }
    for (const [name, ghost] of ghosts) {
      const earlier = unsent.ghosts.get(name);
      if (earlier) {
        earlier.requests += ghost.requests;
        earlier.first_seen = Math.min(earlier.first_seen, ghost.first_seen);
        earlier.last_seen = Math.max(earlier.last_seen, ghost.last_seen);
      } else if (unsent.ghosts.size < this.maxGhosts) unsent.ghosts.set(name, ghost);
      else this.droppedGhosts += ghost.requests;
    }
    return unsent;
  }

  private logDropped(): void {
    if (this.droppedGhosts === 0 && this.droppedPairs === 0 && this.droppedPredictions === 0) return;
    this.options.logger?.warn(
      {
        dropped_ghost_requests: this.droppedGhosts,
        dropped_pairs: this.droppedPairs,
        dropped_predictions: this.droppedPredictions,
        max_ghosts: this.maxGhosts,
        max_pairs: this.maxPairs,
        max_predictions: this.predictionLimits.held,
      },
      "traffic meter dropped what it could not hold: too many ghost names, malformed ones, or too many pairs or predictions",
    );
    this.droppedGhosts = 0;
    this.droppedPairs = 0;
    this.droppedPredictions = 0;
  }
}

/** The histogram bucket of a latency: the first bound it does not exceed, or the overflow. */
export function bucketOf(latencyMs: number): number {
  for (let i = 0; i < LATENCY_BOUNDS_MS.length; i++) {
    if (latencyMs <= (LATENCY_BOUNDS_MS[i] as number)) return i;
  }
  return LATENCY_BOUNDS_MS.length;
}

function emptyCounter(deploymentId: number, windowStart: number): Counter {
  return {
    deployment_id: deploymentId,
    window_start: windowStart,
    window_end: windowStart,
    requests: 0,
    errors: 0,
    timeouts: 0,
    latency_buckets: new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0),
    latency_sum_ms: 0,
    shadow_skipped_oversize: 0,
  };
}

/** Two windows of one deployment as one: the later's mismatch wins, if it saw one. */
function addCounters(earlier: Counter, later: Counter): Counter {
  return {
    deployment_id: earlier.deployment_id,
    window_start: Math.min(earlier.window_start, later.window_start),
    window_end: Math.max(earlier.window_end, later.window_end),
    requests: earlier.requests + later.requests,
    errors: earlier.errors + later.errors,
    timeouts: earlier.timeouts + later.timeouts,
    latency_buckets: earlier.latency_buckets.map((n, i) => n + (later.latency_buckets[i] ?? 0)),
    latency_sum_ms: earlier.latency_sum_ms + later.latency_sum_ms,
    mismatched_version: later.mismatched_version ?? earlier.mismatched_version,
    shadow_skipped_oversize: earlier.shadow_skipped_oversize + later.shadow_skipped_oversize,
  };
}

function toTraffic(counter: Counter): DeploymentTraffic {
  const { mismatched_version, shadow_skipped_oversize, ...counts } = counter;
  return {
    ...counts,
    window_start: Math.max(0, Math.floor(counts.window_start)),
    window_end: Math.max(0, Math.floor(counts.window_end)),
    ...(mismatched_version === undefined ? {} : { mismatched_version }),
    ...(shadow_skipped_oversize > 0 ? { shadow_skipped_oversize } : {}),
  };
}
