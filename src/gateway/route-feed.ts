import { watchRouteChanges } from "../store/route-watch.js";
import type { Stores } from "../store/stores.js";
import { type RouteSnapshot, snapshotOf } from "./route-snapshot.js";

interface Waiter {
  environment: string;
  wake(): void;
}

/**
 * The routes a registry server hands to gateways (`GET /v1/routes`), per environment: read when
 * first asked and again only after the database says they may have changed, with the same watch
 * a gateway uses (src/store/route-watch.ts). A long poll waits here for the next change. The
 * watch starts with the first request, so a server no gateway polls neither polls nor listens.
 */
export class RouteFeed {
  private readonly snapshots = new Map<string, Promise<RouteSnapshot>>();
  private readonly waiters = new Set<Waiter>();
  private watch: { close(): Promise<void> } | undefined;
  private closed = false;
  private watchLost = false;

  constructor(private readonly options: { url: string; stores: Stores; connectTimeoutMs?: number }) {}

  /** The routes of `environment` now. */
  snapshot(environment: string): Promise<RouteSnapshot> {
    this.startWatching();
    if (this.watchLost) return this.read(environment);
    let snapshot = this.snapshots.get(environment);
    if (!snapshot) {
      snapshot = this.read(environment);
      this.snapshots.set(environment, snapshot);
      // A failed read is not kept: the next request tries again.
      snapshot.catch(() => this.snapshots.delete(environment));
    }
    return snapshot;
  }

  /**
   * The routes of `environment` as soon as their version differs from `since`, or as they are
   * once `waitMs` has passed (or the feed closes, or `signal` aborts).
   */
  async next(environment: string, since: string | undefined, waitMs: number, signal?: AbortSignal) {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const snapshot = await this.snapshot(environment);
      const left = deadline - Date.now();
      if (snapshot.route_version !== since || left <= 0 || this.closed || signal?.aborted) return snapshot;
      await this.changeOf(environment, left, signal);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters) waiter.wake();
    await this.watch?.close();
  }

  private changeOf(environment: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const waiter: Waiter = {
        environment,
        wake: () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", waiter.wake);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(waiter.wake, timeoutMs);
      signal?.addEventListener("abort", waiter.wake, { once: true });
      this.waiters.add(waiter);
    });
  }

  private changed(environment: string | null): void {
    if (environment === null) this.snapshots.clear();
    else this.snapshots.delete(environment);
    for (const waiter of this.waiters) {
      if (environment === null || waiter.environment === environment) waiter.wake();
    }
  }

  private startWatching(): void {
    if (this.watch || this.closed) return;
    this.watch = watchRouteChanges(
      this.options.url,
      {
        changed: (environment) => this.changed(environment),
        // While the watch is lost, nothing read can be trusted to stay current: read every time.
        lost: () => {
          this.watchLost = true;
          this.changed(null);
        },
        restored: () => {
          this.watchLost = false;
          this.changed(null);
        },
      },
      { connectTimeoutMs: this.options.connectTimeoutMs },
    );
  }

  private async read(environment: string): Promise<RouteSnapshot> {
    const { routes } = this.options.stores;
    const [models, rows] = await Promise.all([routes.modelNames(), routes.liveRoutes(environment)]);
    return snapshotOf(environment, models, rows);
  }
}
