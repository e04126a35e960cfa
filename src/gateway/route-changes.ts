import { watchRouteChanges } from "../store/route-watch.js";
import type { Stores } from "../store/stores.js";
import { snapshotOf } from "./route-snapshot.js";
import type { RegistryState, RouteSource, RouteSourceEvents } from "./route-source.js";
import { RouteTable } from "./route-table.js";

export interface LocalRouteSourceOptions {
  /** The database URL, for the watch (PostgreSQL LISTENs on a connection of its own). */
  url: string;
  /** PostgreSQL: bounds the watch's connecting and its liveness checks (5 s when absent). */
  connectTimeoutMs?: number;
  stores: Stores;
  environment: string;
  events?: RouteSourceEvents;
  clock?: () => number;
}

/**
 * The routes of a gateway that opened the registry's database itself. They are read once, then
 * again only when the database says they may have changed (a PostgreSQL notification, SQLite's
 * data_version): never per request. A read that fails keeps the last table and is tried again
 * with a growing delay, and the gateway says the registry is lost until one succeeds.
 */
export class LocalRouteSource implements RouteSource {
  table: RouteTable;
  private lostSince: number | null = null;
  private watch: { close(): Promise<void> } | undefined;
  private loading: Promise<void> | undefined;
  private again = false;
  private retryDelay = MIN_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchLost = false;
  private closed = false;
  private readonly clock: () => number;

  constructor(private readonly options: LocalRouteSourceOptions) {
    this.table = RouteTable.empty(options.environment);
    this.clock = options.clock ?? Date.now;
  }

  state(): RegistryState {
    return { registry: this.lostSince === null ? "connected" : "lost", lost_since: this.lostSince };
  }

  async start(): Promise<void> {
    await this.read();
    this.watch = watchRouteChanges(
      this.options.url,
      {
        changed: (environment) => {
          if (environment === null || environment === this.options.environment) this.reload();
        },
        lost: (error) => {
          this.watchLost = true;
          this.markLost(error);
        },
        restored: () => {
          this.watchLost = false;
          this.reload();
        },
      },
      { connectTimeoutMs: this.options.connectTimeoutMs },
    );
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await this.watch?.close();
    await this.loading?.catch(() => {});
  }

  /** Reads the routes again; changes during a read lead to one more read after it. */
  reload(): void {
    if (this.closed) return;
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = this.read()
      .then(
        () => {
          this.retryDelay = MIN_RETRY_MS;
          if (!this.watchLost) this.markFound();
        },
        (error: unknown) => {
          this.markLost(error);
          this.retryTimer = setTimeout(() => this.reload(), this.retryDelay);
          this.retryTimer.unref();
          this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
        },
      )
      .finally(() => {
        this.loading = undefined;
        if (this.again) {
          this.again = false;
          this.reload();
        }
      });
  }

  private async read(): Promise<void> {
    const { stores, environment } = this.options;
    const [models, rows] = await Promise.all([
      stores.routes.modelNames(),
      stores.routes.liveRoutes(environment),
    ]);
    const snapshot = snapshotOf(environment, models, rows);
    if (snapshot.route_version === this.table.version) return;
    const previous = this.table;
    this.table = new RouteTable(snapshot);
    this.options.events?.routesChanged?.(this.table, previous);
  }

  private markLost(error: unknown): void {
    if (this.lostSince !== null) return;
    this.lostSince = this.clock();
    this.options.events?.registryLost?.(error);
  }

  private markFound(): void {
    if (this.lostSince === null) return;
    this.lostSince = null;
    this.options.events?.registryRestored?.();
  }
}

const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
