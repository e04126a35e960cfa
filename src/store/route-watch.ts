import { driverFor } from "./database.js";
import { ROUTES_CHANNEL } from "./migrations/0006-gateway-routes.js";
import { type ListenOptions, listenFor } from "./postgres/route-listener.js";
import { watchDataVersion } from "./sqlite/data-version-watch.js";

/** What a route watch tells: the routes may have changed, the registry is lost or back. */
export interface RouteWatchHandlers {
  /** An environment's routes changed; null when any may have (read them all again). */
  changed(environment: string | null): void;
  /** The registry cannot be watched; the routes read before still stand. */
  lost(error: unknown): void;
  /** Watching again: changes may have been missed, so read the routes again. */
  restored(): void;
}

/** How often a SQLite watch asks whether the file changed: within a second, as promised. */
const SQLITE_POLL_MS = 100;

/**
 * Tells when the routes in the database `url` names may have changed, without reading them:
 * PostgreSQL's triggers notify (migration 0006); SQLite's `data_version` is polled, and says
 * only that something was committed. An in-memory SQLite database has no other writer.
 * `options.connectTimeoutMs` bounds PostgreSQL's listener (src/store/postgres/route-listener.ts).
 */
export function watchRouteChanges(
  url: string,
  handlers: RouteWatchHandlers,
  options: ListenOptions = {},
): { close(): Promise<void> } {
  if (driverFor(url).name === "postgres") {
    return listenFor(
      url,
      ROUTES_CHANNEL,
      {
        notified: (environment) => handlers.changed(environment),
        failed: handlers.lost,
        recovered: handlers.restored,
      },
      options,
    );
  }
  if (url === ":memory:") return { close: async () => {} };
  const watch = watchDataVersion(url, SQLITE_POLL_MS, {
    changed: () => handlers.changed(null),
    failed: handlers.lost,
    recovered: handlers.restored,
  });
  return {
    close: async () => watch.close(),
  };
}
