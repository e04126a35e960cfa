/**
 * The gateway benchmark's Node floor: a bare node:http server that forwards `/{model}/{rest}` to
 * `{upstream}/{rest}` with undici, the proxy library the gateway uses, and does nothing of
 * Tenure's (no route table, no headers stamped, no observers). What the gateway costs above this
 * is what Tenure adds; what this costs above the upstream is what Node and undici cost.
 *
 * `--client` picks the undici call, so that the floor can follow the gateway's choice:
 * `dispatch` (Agent.dispatch with a handler that writes each chunk into the response and pauses
 * the upstream while the client drains: the gateway's call, src/gateway/proxy.ts, and the
 * default), `request` (undici.request through an Agent, the body piped), `pool` (Pool.request to
 * the one origin) or `stream` (undici.stream writing straight into the response).
 *
 *   node --import tsx bench/lib/proxy-floor.ts --port 8081 --upstream http://127.0.0.1:9001
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import { Agent, type Dispatcher, Pool, request, stream } from "undici";
import { z } from "zod";
import { PORT_OPTION, parseScriptOptions } from "./bench-options.js";

const flags = parseScriptOptions("proxy-floor", {
  port: PORT_OPTION,
  upstream: { schema: z.url(), value: "URL", help: "the model server: http://127.0.0.1:PORT" },
  client: {
    schema: z.enum(["dispatch", "request", "pool", "stream"]).default("dispatch"),
    value: "dispatch|request|pool|stream",
    help: "Agent.dispatch (as the gateway), undici.request, Pool.request, or undici.stream",
  },
});

const origin = new URL(flags.upstream).origin;
const dispatcher: Dispatcher =
  flags.client === "pool"
    ? new Pool(origin, { keepAliveTimeout: 60_000 })
    : new Agent({ keepAliveTimeout: 60_000 });

/** Hop-by-hop headers (RFC 9110 §7.6.1) and the client's Host: not forwarded either way. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

function endToEnd(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const kept: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) kept[name] = value;
  }
  return kept;
}

/** The gateway's way (src/gateway/proxy.ts) with nothing of Tenure's: head, chunks, end. */
class Relay implements Dispatcher.DispatchHandler {
  constructor(private readonly res: ServerResponse) {}

  /** Its presence is what tells undici 7 this handler speaks the controller API. */
  onRequestStart(): void {}

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ) {
    this.res.writeHead(statusCode, endToEnd(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once("drain", () => controller.resume());
    }
  }

  onResponseEnd(): void {
    this.res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController, _error: Error): void {
    if (!this.res.headersSent) this.res.writeHead(502, { "content-type": "text/plain" }).end();
    else this.res.destroy();
  }
}

async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? "/";
  const slash = url.indexOf("/", 1);
  const path = slash < 0 ? "/" : url.slice(slash);
  const method = (req.method ?? "GET") as Dispatcher.HttpMethod;
  const body = method === "GET" || method === "HEAD" ? undefined : req;
  const headers = endToEnd(req.headers);
  if (flags.client === "dispatch") {
    dispatcher.dispatch({ origin, path, method, headers, body: body ?? null }, new Relay(res));
    return;
  }
  if (flags.client === "stream") {
    await stream(origin + path, { dispatcher, method, headers, body }, ({ statusCode, headers: answer }) => {
      res.writeHead(statusCode, endToEnd(answer as IncomingHttpHeaders));
      return res;
    });
    return;
  }
  const answer =
    flags.client === "pool"
      ? await dispatcher.request({ origin, path, method, headers, body })
      : await request(origin + path, { dispatcher, method, headers, body });
  res.writeHead(answer.statusCode, endToEnd(answer.headers as IncomingHttpHeaders));
  await pipeline(answer.body, res);
}

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  forward(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(flags.port, "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
