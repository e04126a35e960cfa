import type { Logger } from "pino";
import { Dispatcher, type DispatcherOptions, type RetryPolicy } from "./alerts/dispatcher.js";
import { Incidents } from "./alerts/incidents.js";
import type { EgressPolicy } from "./egress-policy.js";
import { Canaries } from "./gateway/canaries.js";
import { CanaryAnalyzer } from "./gateway/canary-analyzer.js";
import type { LabelWindows, TrafficWindows } from "./gateway/traffic-windows.js";
import { TtlLearner } from "./lifecycle/learned-ttls.js";
import { Lifecycle } from "./lifecycle/lifecycle.js";
import { PolicyBook } from "./lifecycle/policy-book.js";
import { PromotionGate } from "./lifecycle/promotion-gate.js";
import { Sweeper, type SweeperOptions } from "./lifecycle/sweeper.js";
import { CanaryLabels } from "./monitoring/canary-labels.js";
import { DriftMonitor } from "./monitoring/drift-monitor.js";
import { ShadowMonitor } from "./monitoring/shadow-monitor.js";
import { TrafficMonitor, type TrafficMonitorOptions } from "./monitoring/traffic-monitor.js";
import { AuditTrail } from "./registry/audit-trail.js";
import { NO_ENDED_ALERTS, Registry } from "./registry/registry.js";
import { type Database, openDatabase } from "./store/database.js";
import { migrateToLatest } from "./store/migrate.js";
import { isMissingDatabase, MissingDatabaseError, missingDatabase } from "./store/missing-database.js";
import { type Stores, storesOf } from "./store/stores.js";

/** Who tells of a TTL in force found changed at start (see TtlLearner.announce). */
const START_ACTOR = "tenure:start";

/** Everything that runs against one database, built once: the composition root. */
export interface Context {
  database: Database;
  /** Every aggregate's store, bound to the database. */
  stores: Stores;
  lifecycle: Lifecycle;
  drift: DriftMonitor;
  /** Shadow validation: pairs from gateways, feedback, comparisons and verdicts. */
  shadow: ShadowMonitor;
  /** Each side's predictions while a model has a canary, met with feedback: the canary's labels. */
  canaryLabels: CanaryLabels;
  /** What gateways report: traffic per deployment, liveness, version mismatches, ghosts. */
  traffic: TrafficMonitor;
  policies: PolicyBook;
  /** Learns `max_age: auto` TTLs in each sweep; `refresh` reads the stored ones into `policies`. */
  learnedTtls: TtlLearner;
  registry: Registry;
  /** Every change, by whom, from where, before and after (GET /v1/audit, `tenure audit`). */
  audit: AuditTrail;
  incidents: Incidents;
  sweeper: Sweeper;
  dispatcher: Dispatcher;
  /** Reads canaries and their analyses (GET /v1/models/{name}/canary). */
  canaries: Canaries;
  /** The champion-vs-challenger gate (POST /v1/models/{name}/gate, `tenure gate`). */
  gate: PromotionGate;
  /**
   * A canary analyzer (with the policies' guardrails) on this database, reading traffic from
   * `traffic`: `tenure serve` runs one, and so may a gateway that opened the database itself.
   * Labels are read from `canaryLabels` unless `labels` says otherwise.
   */
  canaryAnalyzer(
    traffic: TrafficWindows,
    options?: { labels?: LabelWindows; pollMs?: number },
  ): CanaryAnalyzer;
  clock: () => number;
  close(): Promise<void>;
}

/**
 * What a server counts of the work done in its process, told as it happens (sweeps ended,
 * delivery attempts, traffic reports): see PrometheusMetrics.
 */
export interface Telemetry {
  onSweepEnded: NonNullable<SweeperOptions["onEnded"]>;
  onDeliveryAttempt: NonNullable<DispatcherOptions["onAttempt"]>;
  onTrafficRecorded: NonNullable<TrafficMonitorOptions["onRecorded"]>;
}

export interface ContextOptions {
  clock?: () => number;
  poolSize?: number;
  /** SQLite: WAL checkpoints on a thread of their own (src/store/sqlite/checkpointer.ts), for a server. */
  backgroundCheckpoints?: boolean;
  /** Told when background checkpoints failed and commits checkpoint in line again. */
  onCheckpointFailure?: (message: string) => void;
  /**
   * PostgreSQL: prepare the statements a connection repeats (default on); off for a pooler that
   * cannot carry them (TENURE_PG_PREPARED_STATEMENTS=0).
   */
  preparedStatements?: boolean;
  /** PostgreSQL: ms to wait for a connection (OpenOptions.connectTimeoutMs; 5 s when absent). */
  connectTimeoutMs?: number;
  /** PostgreSQL: ms a statement may wait for its answer; null: no limit (OpenOptions.queryTimeoutMs; 30 s when absent). */
  queryTimeoutMs?: number | null;
  /** The policy file; the built-in defaults when absent. */
  policies?: string | null;
  /** Where `${VAR}` in the policy file is read; none are set when absent. */
  env?: Record<string, string | undefined>;
  /** The base of links in notifications. */
  publicUrl?: string;
  retry?: RetryPolicy;
  /** The server's log, for what a sweep could not judge. */
  logger?: Logger;
  /**
   * Refuse a SQLite file that is not there yet (MissingDatabaseError) instead of making it: the
   * CLI's commands that read or change a registry. A PostgreSQL database is never made here;
   * one that does not exist is always a MissingDatabaseError.
   */
  mustExist?: boolean;
  /** Told of the work done in this process, for /metrics; nothing is counted without it. */
  telemetry?: Telemetry;
  /** How long the sweep lease lasts unless renewed (see SweeperOptions.leaseMs). */
  sweepLeaseMs?: number;
  /** Where alert channels may connect; strict (no private address) when absent. */
  egress?: EgressPolicy;
}

/** Opens the database, brings its schema up to date and wires the registry to it. */
export async function openContext(url: string, options: ContextOptions = {}): Promise<Context> {
  // An invalid policy file stops start-up before the database is touched.
  const policies = PolicyBook.load(options.policies ?? null, options.env ?? {});
  const missing = options.mustExist ? missingDatabase(url) : undefined;
  if (missing !== undefined) throw new MissingDatabaseError(missing);
  const database = openDatabase(url, {
    poolSize: options.poolSize,
    backgroundCheckpoints: options.backgroundCheckpoints,
    onCheckpointFailure: options.onCheckpointFailure,
    preparedStatements: options.preparedStatements ?? true,
    connectTimeoutMs: options.connectTimeoutMs,
    queryTimeoutMs: options.queryTimeoutMs,
  });
  try {
    await migrateToLatest(database);
  } catch (error) {
    await database.close();
    throw isMissingDatabase(error) ? new MissingDatabaseError(database.location) : error;
  }
  const clock = options.clock ?? Date.now;
  const stores = storesOf(database);
  const publicUrl = options.publicUrl ?? "http://127.0.0.1:8080";
  // The registry tells the lifecycle of every deployment that ends, inside its transaction; the
  // incidents are built just below, before any registration can run.
  let incidents: Incidents | undefined;
  // Set once the dispatcher exists (below), before anything can end a deployment.
  let wake = () => {};
  // One writer of the audit log: the registry and the lifecycle append through it in each
  // change's own transaction; the API's few remaining edge records and `tenure audit` read it.
  const audit = new AuditTrail({ stores, clock, policies });
  const registry = new Registry({
    stores,
    clock,
    policies,
    audit,
    onEnded: async (tx, ended, at) => {
      const change = (await incidents?.resolveEnded(tx, ended, at)) ?? NO_ENDED_ALERTS;
      // Woken once they are committed: before, the dispatcher would find nothing to send yet.
      if (change.notifications) tx.afterCommit(() => wake());
      return change;
    },
  });
  // Every process judges by the TTLs stored by the last sweep, whichever replica ran it.
  const learnedTtls = new TtlLearner({ stores, policies, policyOf: (row) => registry.policyOf(row) });
  // A TTL in force that changed while no process ran (a policy file edited, a reload whose events
  // failed) is told now, before anything is judged by it.
  policies.readAt = clock();
  try {
    await learnedTtls.refresh();
    await learnedTtls.announce(clock(), START_ACTOR);
  } catch (error) {
    await database.close();
    throw error;
  }
  incidents = new Incidents({
    channels: {
      policyFor: (row) => registry.policyOf(row),
      channelType: (name) => policies.channels[name]?.type,
    },
    publicUrl,
  });
  const dispatcher = new Dispatcher({
    outbox: stores.outbox,
    channels: () => policies.channels,
    retry: options.retry,
    onAttempt: options.telemetry?.onDeliveryAttempt,
    // Without it a dead-lettered notification and a failing delivery loop left no log line.
    logger: options.logger,
    ...(options.egress ? { egress: options.egress } : {}),
  });
  wake = () => dispatcher.wake();
  const sweeper = new Sweeper({
    stores,
    registry,
    incidents,
    clock,
    onNotifications: () => dispatcher.wake(),
    logger: options.logger,
    onEnded: options.telemetry?.onSweepEnded,
    leaseMs: options.sweepLeaseMs,
    learner: learnedTtls,
  });
  const lifecycle = new Lifecycle({
    stores,
    registry,
    policies,
    incidents,
    sweeper,
    clock,
    publicUrl,
    onNotifications: () => dispatcher.wake(),
  });
  const shadow = new ShadowMonitor({ stores, clock });
  const canaryLabels = new CanaryLabels({ stores, clock });
  const canaries = new Canaries({ stores, registry });
  return {
    database,
    stores,
    lifecycle,
    drift: new DriftMonitor({ stores, registry, clock }),
    shadow,
    canaryLabels,
    traffic: new TrafficMonitor({
      stores,
      clock,
      logger: options.logger,
      onRecorded: options.telemetry?.onTrafficRecorded,
      // A report's shadow pairs are recorded in the report's own transaction.
      pairs: { recordPairs: async (tx, pairs) => (await shadow.recordPairs(pairs, tx)).recorded },
      // And its canary predictions, for the canaries' labels.
      predictions: canaryLabels,
    }),
    policies,
    learnedTtls,
    registry,
    audit,
    incidents,
    sweeper,
    dispatcher,
    canaries,
    gate: new PromotionGate({ stores, registry, shadow, canaries, clock }),
    canaryAnalyzer: (traffic, analyzerOptions = {}) =>
      new CanaryAnalyzer({
        stores,
        registry,
        incidents: incidents as Incidents,
        traffic,
        labels: analyzerOptions.labels ?? canaryLabels,
        pollMs: analyzerOptions.pollMs,
        clock,
        guardrail: { policies: () => [policies.defaults, ...policies.policies] },
        onNotifications: () => dispatcher.wake(),
        logger: options.logger,
      }),
    clock,
    close: async () => {
      await dispatcher.stop();
      await registry.idle();
      await database.close();
    },
  };
}
