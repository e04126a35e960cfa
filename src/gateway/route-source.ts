import type { RouteTable } from "./route-table.js";

/** Whether the gateway still hears from its registry, for `/healthz`. */
export interface RegistryState {
  registry: "connected" | "lost";
  /** Since when it is lost, epoch ms; null while connected. */
  lost_since: number | null;
}

/**
 * Where a gateway's routes come from: its own database (src/gateway/route-changes.ts) or a
 * registry server (src/gateway/remote-route-source.ts). The table is replaced whole when the
 * routes change and read as it is by every request; when the registry is lost the last table
 * stays.
 */
export interface RouteSource {
  /** The routes now: a field read, never a query. */
  readonly table: RouteTable;
  state(): RegistryState;
  /** Reads the routes once and starts watching for changes; fails when the first read fails. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Told when the routes changed or the registry was lost or found again, for the log. */
export interface RouteSourceEvents {
  routesChanged?(table: RouteTable, previous: RouteTable): void;
  registryLost?(error: unknown): void;
  registryRestored?(): void;
}
