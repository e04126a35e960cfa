import type { RegistryState, RouteSource, RouteSourceEvents } from "./route-source.js";
import { RouteTable } from "./route-table.js";

export interface RemoteRouteSourceOptions {
  registry: string;
  token: string;
  environment: string;
  events?: RouteSourceEvents;
}

/** Placeholder until the long-poll of GET /v1/routes lands. */
export class RemoteRouteSource implements RouteSource {
  table: RouteTable;
  constructor(private readonly options: RemoteRouteSourceOptions) {
    this.table = RouteTable.empty(options.environment);
  }
  state(): RegistryState {
    return { registry: "lost", lost_since: null };
  }
  async start(): Promise<void> {
    throw new Error(`reading routes from ${this.options.registry} is not there yet`);
  }
  async close(): Promise<void> {}
}
