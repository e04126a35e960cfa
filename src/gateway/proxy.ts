import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { performance } from "node:perf_hooks";
import { type Readable, Transform } from "node:stream";
import type { Dispatcher } from "undici";
import { BodyCopy } from "./body-copy.js";
import type { ExchangeOutcome } from "./exchange.js";
import { forwardedResponseHeaders } from "./hop-by-hop.js";
import { writeProblem } from "./problem-response.js";
import type { Upstream } from "./route-table.js";

/** What every forwarded request shares: the connection pools and the limits. */
export interface ProxySettings {
  dispatcher: Dispatcher;
  /** How long the upstream may take to send its headers, and to pause between body chunks. */
  upstreamTimeoutMs: number;
  /** The header, lowercase, in which an upstream states its own version. */
  versionHeader: string;
  /** The most a kept copy of a body may hold (`--shadow-max-body`). */
  shadowMaxBody: number;
}

/** How a forwarded request ended, for the exchange observers read. */
export interface ForwardResult {
  status: number;
  outcome: ExchangeOutcome;
  latency_ms: number;
  upstream_version: string | undefined;
  request_body: Buffer | null;
  request_body_oversize: boolean;
  response_body: Buffer | null;
  /** The client went away before its answer was complete: nobody was answered. */
  client_gone: boolean;
  /** What went wrong with the upstream, in a sentence; undefined when it answered in full. */
  failure: string | undefined;
}

/** One request forwarded to one upstream. */
export interface Forward {
  req: IncomingMessage;
  res: ServerResponse;
  upstream: Upstream;
  /** The path below the model with its query (`/predict?x=1`). */
  path: string;
  /** The request headers as they go upstream. */
  headers: Record<string, string | string[]>;
  /** Headers every answer carries besides the stamp: the age and the request id. */
  extra: string[];
  /** Keep a copy of the request's body (for the shadows). */
  copyRequest: boolean;
  /** Keep a copy of the answer's body (for the shadows' pairs and the canary's predictions). */
  copyResponse: boolean;
  done(result: ForwardResult): void;
}

class ClientGone extends Error {
  override name = "ClientGone";
}

/**
 * Streams the request to the upstream and its answer back with undici's dispatch, the lowest
 * layer it offers: no Readable per response, and the body's backpressure passed through by
 * pausing the upstream while the client's socket drains (BENCHMARKS.md, gateway).
 */
export function forward(settings: ProxySettings, f: Forward): void {
  const handler = new Forwarding(settings, f);
  const { req } = f;
  // A client that resets mid-upload makes its request emit 'error': undici sees it through the
  // body stream; this listener keeps it from being an uncaught error when there is no body.
  req.on("error", noop);
  f.res.on("close", handler.onClientClose);
  const hasBody =
    req.headers["content-length"] !== undefined || req.headers["transfer-encoding"] !== undefined;
  let body: Readable | null = hasBody && req.headers["content-length"] !== "0" ? req : null;
  // Copied on its way through a Transform: a second 'data' listener on the request would set it
  // flowing before undici reads it, and undici would miss the first chunks.
  const copy = handler.requestCopy;
  if (body && copy) {
    body = req.pipe(
      new Transform({
        transform(chunk: Buffer, _encoding, next) {
          copy.add(chunk);
          next(null, chunk);
        },
      }),
    );
    req.once("error", (error) => body?.destroy(error));
  }
  try {
    settings.dispatcher.dispatch(
      {
        origin: f.upstream.origin,
        path: upstreamPath(f.upstream.base_path, f.path),
        method: req.method as Dispatcher.HttpMethod,
        headers: f.headers,
        body,
        headersTimeout: settings.upstreamTimeoutMs,
        bodyTimeout: settings.upstreamTimeoutMs,
      },
      handler,
    );
  } catch (error) {
    // undici refuses some requests before sending them (a header it will not forward).
    handler.onResponseError(undefined, error as Error);
  }
}

const noop = () => {};

/** The endpoint's path, then the path below the model: `/v1` and `?x=1` give `/v1?x=1`. */
function upstreamPath(base: string, path: string): string {
  const full = base + path;
  return full.charCodeAt(0) === 47 /* / */ ? full : `/${full}`;
}

class Forwarding implements Dispatcher.DispatchHandler {
  readonly requestCopy: BodyCopy | null;
  private responseCopy: BodyCopy | null = null;
  private controller: Dispatcher.DispatchController | undefined;
  private readonly startedAt = performance.now();
  private status = 0;
  private outcome: ExchangeOutcome = "ok";
  private upstreamVersion: string | undefined;
  private finished = false;
  private clientGone = false;
  private failure: string | undefined;

  constructor(
    private readonly settings: ProxySettings,
    private readonly f: Forward,
  ) {
    this.requestCopy = f.copyRequest ? new BodyCopy(settings.shadowMaxBody) : null;
  }

  /** The client closed its connection: if its answer is not complete, stop the upstream request. */
  readonly onClientClose = () => {
    if (this.finished || this.f.res.writableFinished) return;
    this.clientGone = true;
    this.controller?.abort(new ClientGone("the client closed the connection"));
  };

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(new ClientGone("the client closed the connection"));
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    const { res, upstream, extra } = this.f;
    this.status = statusCode;
    if (statusCode >= 500) this.outcome = "error";
    const version = headers[this.settings.versionHeader];
    this.upstreamVersion = Array.isArray(version) ? version[0] : version;
    if (this.f.copyResponse) this.responseCopy = new BodyCopy(this.settings.shadowMaxBody);
    const list = forwardedResponseHeaders(headers, upstream.stamp.concat(extra));
    try {
      res.writeHead(statusCode, list);
    } catch (error) {
      // Headers Node refuses to write (undici parses more leniently): the answer is unusable.
      controller.abort(error as Error);
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.responseCopy?.add(chunk);
    if (!this.f.res.write(chunk)) {
      controller.pause();
      this.f.res.once("drain", () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.f.res.end();
    this.finish();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, error: Error): void {
    const { res } = this.f;
    const timeout = isTimeout(error);
    this.failure = describeFailure(error, this.settings.upstreamTimeoutMs);
    if (this.clientGone || error instanceof ClientGone) {
      this.clientGone = true;
    } else if (!res.headersSent) {
      this.status = timeout ? 504 : 502;
      writeProblem(res, this.status, timeout ? "upstream-timeout" : "upstream-failed", this.failure, [
        ...this.f.upstream.stamp,
        ...this.f.extra,
      ]);
    } else {
      // The status is sent: the only way left to say the answer is broken is to cut it short.
      res.destroy();
    }
    this.outcome = timeout ? "timeout" : "error";
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.f.res.off("close", this.onClientClose);
    this.f.done({
      status: this.status,
      outcome: this.outcome,
      latency_ms: performance.now() - this.startedAt,
      upstream_version: this.upstreamVersion,
      request_body: this.requestCopy?.body() ?? null,
      request_body_oversize: this.requestCopy?.oversize ?? false,
      response_body: this.responseCopy?.body() ?? null,
      client_gone: this.clientGone,
      failure: this.failure,
    });
  }
}

const TIMEOUTS = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

function isTimeout(error: Error): boolean {
  return TIMEOUTS.has((error as { code?: string }).code ?? "");
}

/** One sentence for the problem's detail: what the upstream did, without internals. */
function describeFailure(error: Error, timeoutMs: number): string {
  const code = (error as { code?: string }).code ?? "";
  switch (code) {
    case "UND_ERR_HEADERS_TIMEOUT":
      return `the model server did not answer within ${timeoutMs / 1000} s`;
    case "UND_ERR_BODY_TIMEOUT":
      return `the model server stopped sending its answer for ${timeoutMs / 1000} s`;
    case "UND_ERR_CONNECT_TIMEOUT":
      return "the model server could not be reached in time";
    case "ECONNREFUSED":
      return "the model server refused the connection";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the model server's host name does not resolve";
    case "HPE_INVALID_CONSTANT":
    case "HPE_INVALID_VERSION":
    case "HPE_INVALID_STATUS":
    case "HPE_INVALID_HEADER_TOKEN":
      return "the model server answered with something that is not HTTP";
    default:
      if (code.startsWith("HPE_") || error.name === "HTTPParserError")
        return "the model server answered with something that is not HTTP";
      if (code === "UND_ERR_SOCKET" || code === "ECONNRESET")
        return "the model server closed the connection before its answer was complete";
      if (error.name === "ClientGone") return error.message;
      return "the model server could not be reached";
  }
}
