import type { Exchange, ModelRoutes, RouteTarget } from "../../src/gateway/exchange.js";

/** A live deployment of `fraud-gbm` in production as the gateway routes to it. */
export function routeTarget(deploymentId: number, modelVersion = "3.2.0"): RouteTarget {
  return {
    deployment_id: deploymentId,
    model: "fraud-gbm",
    model_version: modelVersion,
    environment: "production",
    owner_team: "risk",
    role: "primary",
    deployment_date: 0,
    training_data_cutoff: 0,
    endpoint: "http://127.0.0.1:1",
  };
}

/** The routes of `fraud-gbm`, with the given shadows. */
export function modelRoutes(shadows: RouteTarget[] = []): ModelRoutes {
  return { model: "fraud-gbm", primary: routeTarget(1), canary: null, shadows };
}

/** One answered request, as the gateway tells its observers; override what the test is about. */
export function answered(target: RouteTarget, changes: Partial<Exchange> = {}): Exchange {
  return {
    request_id: "r",
    target,
    method: "POST",
    path: "/predict",
    request_headers: {},
    request_body: null,
    request_body_oversize: false,
    status: 200,
    outcome: "ok",
    latency_ms: 7,
    upstream_version: undefined,
    response_body: null,
    started_at: 1000,
    ...changes,
  };
}
