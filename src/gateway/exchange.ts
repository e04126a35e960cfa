/**
 * What the gateway's parts say to each other: the routes of one model in one environment, and
 * one answered request (an exchange), which the traffic meter counts, the shadow mirrors and
 * the canary's figures come from. Plain data, no I/O: the proxy builds it, observers read it.
 */

/** A live deployment the gateway may send requests to; times are epoch milliseconds. */
export interface RouteTarget {
  deployment_id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: "primary" | "shadow" | "canary";
  deployment_date: number;
  training_data_cutoff: number;
  /** An http(s) URL; a request to `/{model}/{rest}` goes to `{endpoint}/{rest}`. */
  endpoint: string;
}

/** A canary and the share of a model's traffic it answers. */
export interface CanaryRoute {
  target: RouteTarget;
  /** Percent of requests, 0–100; 0 sends it nothing (a canary rolled back or paused at 0). */
  weight: number;
  /** The request header whose value keeps one client on one side; null splits at random. */
  sticky_header: string | null;
}

/** Everything the gateway knows of one model in its environment. */
export interface ModelRoutes {
  model: string;
  /** The live primary, or null (the gateway answers 503 with Retry-After). */
  primary: RouteTarget | null;
  canary: CanaryRoute | null;
  shadows: RouteTarget[];
}

/** How a request ended, as the traffic meter counts it. */
export type ExchangeOutcome = "ok" | "error" | "timeout";

/** One request the gateway answered through a deployment. */
export interface Exchange {
  /** The client's `X-Request-Id`, or one the gateway made; sent upstream and in `Tenure-Request-Id`. */
  request_id: string;
  /** Who answered the user: the primary or the canary. */
  target: RouteTarget;
  method: string;
  /** The path below the model with its query: `/predict?x=1` for `/fraud-gbm/predict?x=1`. */
  path: string;
  /** The request headers as forwarded upstream (hop-by-hop headers removed). */
  request_headers: Record<string, string | string[]>;
  /**
   * The request body, kept only while a shadow may want it and no larger than the gateway's
   * `--shadow-max-body`; null when not kept, and `request_body_oversize` says why.
   */
  request_body: Buffer | null;
  request_body_oversize: boolean;
  /** The status the user got: the upstream's, or the gateway's own 502/504. */
  status: number;
  /** `error` is a 5xx from upstream or a failed connection; `timeout` passed `--upstream-timeout`. */
  outcome: ExchangeOutcome;
  /** From the first byte sent upstream to the last byte of the answer, milliseconds. */
  latency_ms: number;
  /** The version the upstream stated in its version header (`X-Model-Version` by default). */
  upstream_version: string | undefined;
  /**
   * The answer's body, kept (bounded) only when a shadow will compare with it or its model's
   * canary's predictions are recorded; else null.
   */
  response_body: Buffer | null;
  /** When the request arrived, epoch milliseconds. */
  started_at: number;
}

/**
 * Told of every answered request and every request for a model the registry does not know.
 * Called after the user has been answered; an observer must not throw and must not block.
 */
export interface GatewayObserver {
  answered(exchange: Exchange, routes: ModelRoutes): void;
  ghost(model: string, at: number): void;
}
