import { sql } from "kysely";
import { type AlertStore, SqlAlertStore } from "./alert-store.js";
import { type AuditStore, SqlAuditStore } from "./audit-store.js";
import { type CanaryPredictionStore, SqlCanaryPredictionStore } from "./canary-prediction-store.js";
import { type CanaryStore, SqlCanaryStore } from "./canary-store.js";
import {
  type Database,
  type DialectName,
  type DialectTraits,
  type Executor,
  inTransaction,
  lockKeys,
} from "./database.js";
import { type DeploymentStore, SqlDeploymentStore } from "./deployment-store.js";
import { type DigestStore, SqlDigestStore } from "./digest-store.js";
import { type DriftStore, SqlDriftStore } from "./drift-store.js";
import { type ForecastStore, SqlForecastStore } from "./forecast-store.js";
import { type IdempotencyStore, SqlIdempotencyStore } from "./idempotency-store.js";
import { type LearnedTtlStore, SqlLearnedTtlStore } from "./learned-ttl-store.js";
import { type LeaseStore, SqlLeaseStore } from "./lease-store.js";
import { type MetricStore, SqlMetricStore } from "./metric-store.js";
import { type ModelStore, SqlModelStore } from "./model-store.js";
import { type OutboxStore, SqlOutboxStore } from "./outbox-store.js";
import { type PageStore, SqlPageStore } from "./page-store.js";
import { type RouteStore, SqlRouteStore } from "./route-store.js";
import { type ShadowStore, SqlShadowStore } from "./shadow-store.js";
import { SqlSweepStore, type SweepStore } from "./sweep-store.js";
import { SqlTokenStore, type TokenStore } from "./token-store.js";
import { SqlTrafficStore, type TrafficStore } from "./traffic-store.js";
import { SqlWebhookReceiptStore, type WebhookReceiptStore } from "./webhook-receipt-store.js";

/**
 * Every aggregate's store, bound to one executor: the database, or one transaction, so that work
 * across aggregates (a registration that ends a deployment and resolves its alerts) commits or
 * rolls back as one.
 */
export interface Stores {
  readonly dialect: DialectName;
  /** What the dialect does well or cannot do, for code that adapts to it (see DialectTraits). */
  readonly traits: DialectTraits;
  readonly models: ModelStore;
  readonly deployments: DeploymentStore;
  readonly pages: PageStore;
  readonly idempotency: IdempotencyStore;
  readonly sweeps: SweepStore;
  readonly alerts: AlertStore;
  readonly outbox: OutboxStore;
  readonly metrics: MetricStore;
  readonly drift: DriftStore;
  readonly tokens: TokenStore;
  /** What gateways route by: the live deployments of an environment. */
  readonly routes: RouteStore;
  readonly canaries: CanaryStore;
  readonly shadows: ShadowStore;
  /** Each side's predictions while a model has a canary, for its labels. */
  readonly canaryPredictions: CanaryPredictionStore;
  readonly traffic: TrafficStore;
  /** Signed webhook deliveries already taken, against replays. */
  readonly webhookReceipts: WebhookReceiptStore;
  /** Every change made, by whom and from where: append-only. */
  readonly audit: AuditStore;
  /** Who may sweep now, across processes: a lease with an expiry and a fencing token. */
  readonly leases: LeaseStore;
  /** The history decay curves learn from, and the forecasts sweeps keep on live deployments. */
  readonly forecasts: ForecastStore;
  /** The rot report's digests as sent, per team, channel and schedule slot. */
  readonly digests: DigestStore;
  /** The TTLs sweeps learned for `max_age: auto` policies, and what they are learned from. */
  readonly learnedTtls: LearnedTtlStore;
  /** Runs `work` in one transaction with every store bound to it, retrying lost races. */
  transaction<T>(work: (tx: Stores) => Promise<T>): Promise<T>;
  /**
   * Runs `then` once what this transaction wrote is committed, so others can read it (wake a
   * reader of the rows it wrote); never when it rolls back, and once for a retried transaction.
   * Outside a transaction, on the next turn of the event loop.
   */
  afterCommit(then: () => void): void;
  /**
   * Serializes writers of these keys (a model in an environment: `model environment`) until the
   * transaction ends. Keys are locked in one sorted order, so two transactions that lock
   * overlapping sets cannot deadlock. Outside a transaction, nothing.
   */
  lockKeys(keys: string[]): Promise<void>;
  /** Resolves when the database answers. */
  ping(): Promise<void>;
}

/** The stores of an open database, bound to it or to one of its transactions. */
export function storesOf(database: Database): Stores {
  return new SqlStores(database, database.db);
}

/** Each store is built when first asked for: a transaction builds only those it uses. */
class SqlStores implements Stores {
  #commitHooks: (() => void)[] = [];
  #models?: ModelStore;
  #deployments?: DeploymentStore;
  #pages?: PageStore;
  #idempotency?: IdempotencyStore;
  #sweeps?: SweepStore;
  #alerts?: AlertStore;
  #outbox?: OutboxStore;
  #metrics?: MetricStore;
  #drift?: DriftStore;
  #tokens?: TokenStore;
  #routes?: RouteStore;
  #canaries?: CanaryStore;
  #shadows?: ShadowStore;
  #canaryPredictions?: CanaryPredictionStore;
  #traffic?: TrafficStore;
  #webhookReceipts?: WebhookReceiptStore;
  #audit?: AuditStore;
  #leases?: LeaseStore;
  #forecasts?: ForecastStore;
  #digests?: DigestStore;
  #learnedTtls?: LearnedTtlStore;

  constructor(
    private readonly database: Database,
    private readonly executor: Executor,
  ) {}

  get dialect(): DialectName {
    return this.database.dialect;
  }

  get traits(): DialectTraits {
    return this.database.traits;
  }

  get forecasts(): ForecastStore {
    this.#forecasts ??= new SqlForecastStore(this.database, this.executor);
    return this.#forecasts;
  }

  get models(): ModelStore {
    this.#models ??= new SqlModelStore(this.database, this.executor);
    return this.#models;
  }

  get deployments(): DeploymentStore {
    this.#deployments ??= new SqlDeploymentStore(this.database, this.executor);
    return this.#deployments;
  }

  get pages(): PageStore {
    this.#pages ??= new SqlPageStore(this.database, this.executor);
    return this.#pages;
  }

  get idempotency(): IdempotencyStore {
    this.#idempotency ??= new SqlIdempotencyStore(this.database, this.executor);
    return this.#idempotency;
  }

  get sweeps(): SweepStore {
    this.#sweeps ??= new SqlSweepStore(this.database, this.executor);
    return this.#sweeps;
  }

  get alerts(): AlertStore {
    this.#alerts ??= new SqlAlertStore(this.database, this.executor);
    return this.#alerts;
  }

  get outbox(): OutboxStore {
    this.#outbox ??= new SqlOutboxStore(this.database, this.executor);
    return this.#outbox;
  }

  get metrics(): MetricStore {
    this.#metrics ??= new SqlMetricStore(this.database, this.executor);
    return this.#metrics;
  }

  get drift(): DriftStore {
    this.#drift ??= new SqlDriftStore(this.database, this.executor);
    return this.#drift;
  }

  get tokens(): TokenStore {
    this.#tokens ??= new SqlTokenStore(this.database, this.executor);
    return this.#tokens;
  }

  get routes(): RouteStore {
    this.#routes ??= new SqlRouteStore(this.database, this.executor);
    return this.#routes;
  }

  get canaries(): CanaryStore {
    this.#canaries ??= new SqlCanaryStore(this.database, this.executor);
    return this.#canaries;
  }

  get shadows(): ShadowStore {
    this.#shadows ??= new SqlShadowStore(this.database, this.executor);
    return this.#shadows;
  }

  get canaryPredictions(): CanaryPredictionStore {
    this.#canaryPredictions ??= new SqlCanaryPredictionStore(this.database, this.executor);
    return this.#canaryPredictions;
  }

  get traffic(): TrafficStore {
    this.#traffic ??= new SqlTrafficStore(this.database, this.executor);
    return this.#traffic;
  }

  get webhookReceipts(): WebhookReceiptStore {
    this.#webhookReceipts ??= new SqlWebhookReceiptStore(this.database, this.executor);
    return this.#webhookReceipts;
  }

  get audit(): AuditStore {
    this.#audit ??= new SqlAuditStore(this.database, this.executor);
    return this.#audit;
  }

  get leases(): LeaseStore {
    this.#leases ??= new SqlLeaseStore(this.database, this.executor);
    return this.#leases;
  }

  get digests(): DigestStore {
    this.#digests ??= new SqlDigestStore(this.database, this.executor);
    return this.#digests;
  }

  get learnedTtls(): LearnedTtlStore {
    this.#learnedTtls ??= new SqlLearnedTtlStore(this.database, this.executor);
    return this.#learnedTtls;
  }

  async transaction<T>(work: (tx: Stores) => Promise<T>): Promise<T> {
    // Only the attempt that committed: a retried one's hooks are dropped with its writes.
    let committed: (() => void)[] = [];
    const result = await inTransaction(this.database, async (trx) => {
      const tx = new SqlStores(this.database, trx);
      const answer = await work(tx);
      committed = tx.#commitHooks;
      return answer;
    });
    for (const then of committed) then();
    return result;
  }

  afterCommit(then: () => void): void {
    if (this.executor.isTransaction) this.#commitHooks.push(then);
    else setImmediate(then);
  }

  async lockKeys(keys: string[]): Promise<void> {
    if (this.executor.isTransaction) await lockKeys(this.executor, this.database.dialect, keys);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.executor);
  }
}
