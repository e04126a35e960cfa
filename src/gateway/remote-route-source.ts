import { Agent, request } from "undici";
import type { RegistryState, RouteSource, RouteSourceEvents } from "./route-source.js";
import { RouteTable } from "./route-table.js";
import { fromWire } from "./route-wire.js";

export interface RemoteRouteSourceOptions {
  /** The registry server's base URL (`http://tenure:8080`). */
  registry: string;
  /** A token with scope read. */
  token: string;
  environment: string;
  events?: RouteSourceEvents;
  /** Seconds each long poll may wait on the server (default 25, at most 30). */
  waitSeconds?: number;
  /** Told how many targets of a snapshot were skipped for lacking mandatory metadata. */
  onSkipped?: (count: number) => void;
  clock?: () => number;
}

/**
 * The routes of a gateway that reads them from a registry server: `GET /v1/routes` long-polled
 * with the version it holds, so a change arrives as soon as the server sees it. When the server
 * cannot be reached or answers what is not a routes snapshot, the last table stays, the gateway
 * says the registry is lost, and it tries again with a growing delay.
 */
export class RemoteRouteSource implements RouteSource {
  table: RouteTable;
  private lostSince: number | null = null;
  private closed = false;
  private readonly stop = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly dispatcher = new Agent({ keepAliveTimeout: 60_000 });
  private readonly clock: () => number;

  constructor(private readonly options: RemoteRouteSourceOptions) {
    this.table = RouteTable.empty(options.environment);
    this.clock = options.clock ?? Date.now;
  }

  state(): RegistryState {
    return { registry: this.lostSince === null ? "connected" : "lost", lost_since: this.lostSince };
  }

  /** Reads the routes once (failing as the server does), then long-polls in the background. */
  async start(): Promise<void> {
    await this.poll(0);
    this.loop = this.pollForever();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    await this.loop;
    await this.dispatcher.close().catch(() => this.dispatcher.destroy());
  }

  private async pollForever(): Promise<void> {
    const wait = Math.min(this.options.waitSeconds ?? 25, 30);
    let delay = MIN_RETRY_MS;
    while (!this.closed) {
      try {
        await this.poll(wait);
        delay = MIN_RETRY_MS;
        if (this.lostSince !== null) {
          this.lostSince = null;
          this.options.events?.registryRestored?.();
        }
      } catch (error) {
        if (this.closed) return;
        if (this.lostSince === null) {
          this.lostSince = this.clock();
          this.options.events?.registryLost?.(error);
        }
        await sleep(delay, this.stop.signal);
        delay = Math.min(delay * 2, MAX_RETRY_MS);
      }
    }
  }

  private async poll(waitSeconds: number): Promise<void> {
    const url = new URL("/v1/routes", this.options.registry);
    url.searchParams.set("environment", this.options.environment);
    if (this.table.version !== "") url.searchParams.set("since", this.table.version);
    url.searchParams.set("wait", String(waitSeconds));
    const response = await request(url, {
      dispatcher: this.dispatcher,
      headers: { authorization: `Bearer ${this.options.token}`, accept: "application/json" },
      signal: this.stop.signal,
      // The server answers within `wait`; a little more covers the network, not a dead server.
      headersTimeout: (waitSeconds + 10) * 1000,
      bodyTimeout: 30_000,
    });
    const text = await response.body.text();
    if (response.statusCode !== 200) {
      throw new Error(
        `the registry answered ${response.statusCode} to GET /v1/routes: ${text.slice(0, 200)}`,
      );
    }
    const { snapshot, skipped } = fromWire(JSON.parse(text));
    if (skipped > 0) this.options.onSkipped?.(skipped);
    if (snapshot.route_version === this.table.version) return;
    const previous = this.table;
    this.table = new RouteTable(snapshot);
    this.options.events?.routesChanged?.(this.table, previous);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

const MIN_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
