import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { Agent } from "undici";
import { deploymentAgeSeconds } from "../core/metadata-headers.js";
import { recordsPredictions } from "./canary-recorder.js";
import type { Exchange, GatewayObserver, ModelRoutes } from "./exchange.js";
import { forwardedRequestHeaders } from "./hop-by-hop.js";
import { writeProblem } from "./problem-response.js";
import { type ForwardResult, forward, type ProxySettings } from "./proxy.js";
import type { RouteSource } from "./route-source.js";
import { type ModelEntry, pick, type Upstream } from "./route-table.js";

export interface GatewayOptions {
  host: string;
  port: number;
  routes: RouteSource;
  observers?: GatewayObserver[];
  /** Default 30 s: how long an upstream may take to answer, or pause while answering. */
  upstreamTimeoutMs?: number;
  /** The share of requests (0–1) whose bodies are kept for a model's shadows; default 1. */
  shadowSample?: number;
  /** Bodies larger than this are not kept for shadows; default 1 MiB. */
  shadowMaxBody?: number;
  /**
   * Keep a copy of the answers (up to `shadowMaxBody`) of models with a canary, for a
   * CanaryRecorder among the observers to read their predictions; default false.
   */
  keepCanaryAnswers?: boolean;
  /** The header an upstream states its version in; default X-Model-Version. */
  versionHeader?: string;
  /** Where failures are logged: upstreams that failed, observers that threw. */
  log?: GatewayLog;
  clock?: () => number;
}

/** The part of a logger (pino's) the gateway writes to. */
export interface GatewayLog {
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface RunningGateway {
  server: Server;
  /** `http://host:port` as it listens. */
  url: string;
  routes: RouteSource;
  /** Stops accepting, ends idle connections, waits for answers in flight, closes the pools. */
  close(): Promise<void>;
}

/** A client's X-Request-Id is echoed and sent upstream only when it is a plain token. */
const SANE_REQUEST_ID = /^[\x21-\x7e]{1,200}$/;

/**
 * Starts the gateway: a plain node:http server (the hot path carries no framework) that sends
 * `/{model}/{rest}` to the model's live primary (or its canary, for the canary's share), stamps
 * every answer with the deployment that gave it, and tells the observers afterwards.
 */
export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const upstreamTimeoutMs = options.upstreamTimeoutMs ?? 30_000;
  const dispatcher = new Agent({
    connect: { timeout: Math.min(upstreamTimeoutMs, 10_000) },
    headersTimeout: upstreamTimeoutMs,
    bodyTimeout: upstreamTimeoutMs,
  });
  const settings: ProxySettings = {
    dispatcher,
    upstreamTimeoutMs,
    versionHeader: (options.versionHeader ?? "x-model-version").toLowerCase(),
    shadowMaxBody: options.shadowMaxBody ?? 1024 * 1024,
  };
  const handler = new GatewayHandler(options, settings);
  const server = createServer({ keepAliveTimeout: 65_000 }, handler.handle);
  // A client's half-sent headers must not hold a socket forever.
  server.headersTimeout = 60_000;
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("clientError", (_error, socket) => {
    if (socket.writable)
      socket.end("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n");
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${host}:${address.port}`,
    routes: options.routes,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // Answers in flight get a moment to finish; then their connections are cut.
      const cut = setTimeout(() => {
        for (const socket of sockets) socket.destroy();
      }, 5_000);
      await closed;
      clearTimeout(cut);
      await dispatcher.close().catch(() => dispatcher.destroy());
    },
  };
}

/** What the server calls per request, holding what every request shares. */
class GatewayHandler {
  private readonly observers: GatewayObserver[];
  private readonly clock: () => number;
  private readonly sample: number;

  constructor(
    private readonly options: GatewayOptions,
    private readonly settings: ProxySettings,
  ) {
    this.observers = options.observers ?? [];
    this.clock = options.clock ?? Date.now;
    this.sample = options.shadowSample ?? 1;
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const now = this.clock();
    const url = req.url ?? "/";
    const requestId = requestIdOf(req);
    if (url === "/healthz" || url.startsWith("/healthz?")) {
      this.health(req, res, requestId);
      return;
    }
    const slash = url.indexOf("/", 1);
    const query = url.indexOf("?");
    const end = slash === -1 || (query !== -1 && query < slash) ? (query === -1 ? url.length : query) : slash;
    const model = url.slice(1, end);
    const entry = model === "" ? undefined : this.options.routes.table.lookup(model);
    if (entry === undefined) {
      if (model !== "") this.ghost(model, now);
      writeProblem(res, 404, "unknown-model", unknownModel(model), ["tenure-request-id", requestId]);
      return;
    }
    const upstream = pick(entry, req.headers);
    if (upstream === null) {
      const detail = noRoute(entry, this.options.routes.table.environment);
      writeProblem(res, 503, "no-live-deployment", detail, ["tenure-request-id", requestId]);
      return;
    }
    const path = url.slice(end);
    this.forward(req, res, entry, upstream, path, requestId, now);
  };

  private forward(
    req: IncomingMessage,
    res: ServerResponse,
    entry: ModelEntry,
    upstream: Upstream,
    path: string,
    requestId: string,
    now: number,
  ): void {
    const headers = forwardedRequestHeaders(req.headers);
    headers["x-request-id"] = requestId;
    const socket = req.socket;
    headers["x-forwarded-for"] = appended(req.headers["x-forwarded-for"], socket.remoteAddress ?? "");
    headers["x-forwarded-host"] = appended(req.headers["x-forwarded-host"], req.headers.host ?? "");
    headers["x-forwarded-proto"] = appended(
      req.headers["x-forwarded-proto"],
      (socket as { encrypted?: boolean }).encrypted ? "https" : "http",
    );
    const age = deploymentAgeSeconds(upstream.target.deployment_date, now);
    const copyBodies = entry.routes.shadows.length > 0 && (this.sample >= 1 || Math.random() < this.sample);
    const forCanary = this.options.keepCanaryAnswers === true && recordsPredictions(entry.routes);
    forward(this.settings, {
      req,
      res,
      upstream,
      path,
      headers,
      extra: ["tenure-deployment-age", String(age), "tenure-request-id", requestId],
      copyRequest: copyBodies,
      copyResponse: copyBodies || forCanary,
      done: (result) => this.answered(req, entry.routes, upstream, path, headers, requestId, now, result),
    });
  }

  private answered(
    req: IncomingMessage,
    routes: ModelRoutes,
    upstream: Upstream,
    path: string,
    headers: Record<string, string | string[]>,
    requestId: string,
    startedAt: number,
    result: ForwardResult,
  ): void {
    if (result.failure !== undefined && !result.client_gone) {
      this.options.log?.warn(
        {
          request_id: requestId,
          model: upstream.target.model,
          deployment_id: upstream.target.deployment_id,
          status: result.status,
          outcome: result.outcome,
        },
        result.failure,
      );
    }
    // Nobody was answered: the client left; the deployment is not to blame.
    if (result.client_gone || this.observers.length === 0) return;
    const exchange: Exchange = {
      request_id: requestId,
      target: upstream.target,
      method: req.method ?? "GET",
      path: path === "" ? "/" : path,
      request_headers: headers,
      request_body: result.request_body,
      request_body_oversize: result.request_body_oversize,
      status: result.status,
      outcome: result.outcome,
      latency_ms: result.latency_ms,
      upstream_version: result.upstream_version,
      response_body: result.response_body,
      started_at: startedAt,
    };
    for (const observer of this.observers) {
      try {
        observer.answered(exchange, routes);
      } catch (error) {
        this.options.log?.error({ err: error }, "a gateway observer failed");
      }
    }
  }

  private ghost(model: string, at: number): void {
    const name = model.length > 128 ? model.slice(0, 128) : model;
    for (const observer of this.observers) {
      try {
        observer.ghost(name, at);
      } catch (error) {
        this.options.log?.error({ err: error }, "a gateway observer failed");
      }
    }
  }

  private health(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    if (req.method !== "GET" && req.method !== "HEAD") {
      const headers = ["allow", "GET, HEAD", "tenure-request-id", requestId];
      writeProblem(res, 405, "method-not-allowed", "the gateway's health is read with GET", headers);
      return;
    }
    const { table } = this.options.routes;
    const state = this.options.routes.state();
    const body = JSON.stringify({
      status: state.registry === "connected" ? "ok" : "degraded",
      environment: table.environment,
      routes: table.routable,
      route_version: table.version,
      registry: state.registry,
      lost_since: state.lost_since === null ? null : new Date(state.lost_since).toISOString(),
    });
    res.writeHead(200, [
      "content-type",
      "application/json",
      "content-length",
      String(Buffer.byteLength(body)),
      "cache-control",
      "no-store",
      "tenure-request-id",
      requestId,
    ]);
    res.end(req.method === "HEAD" ? undefined : body);
  }
}

function requestIdOf(req: IncomingMessage): string {
  const given = req.headers["x-request-id"];
  return typeof given === "string" && SANE_REQUEST_ID.test(given) ? given : randomUUID();
}

function appended(existing: string | string[] | undefined, value: string): string {
  if (existing === undefined || existing === "") return value;
  return `${Array.isArray(existing) ? existing.join(", ") : existing}, ${value}`;
}

function unknownModel(model: string): string {
  if (model === "") return "requests go to /{model}/{path}: name a model";
  return `no model named ${JSON.stringify(model.slice(0, 128))} is registered`;
}

function noRoute(entry: ModelEntry, environment: string): string {
  return `model ${entry.routes.model} has no live primary with an endpoint in ${environment}`;
}
