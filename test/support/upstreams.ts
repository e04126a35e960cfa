import http from "node:http";
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from "node:net";
import { type RouteSnapshot, type SnapshotTarget, withVersion } from "../../src/gateway/route-snapshot.js";
import type { RouteSource } from "../../src/gateway/route-source.js";
import { RouteTable } from "../../src/gateway/route-table.js";

/** A model server on loopback that a test points a deployment's endpoint at. */
export interface Upstream {
  url: string;
  /** Requests it has received. */
  requests: number;
  /** Connections open to it now. */
  connections(): number;
  close(): Promise<void>;
}

/** What the echo upstream answers: the request as it arrived. */
export interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The echo server's name, so a test can tell two apart. */
  name: string;
}

export type UpstreamKind =
  /** Answers 200 with the request as JSON (Echo), stating `version` in X-Model-Version. */
  | "echo"
  /** Answers 500 with a JSON error. */
  | "fail"
  /** Reads the request and never answers. */
  | "hang"
  /** Sends headers and half a body, then resets the connection. */
  | "reset-mid-body"
  /** Sends headers and a first chunk, then nothing more. */
  | "stall-mid-body"
  /** Answers `huge` bytes, streamed. */
  | "huge"
  /** Answers how many bytes of body it received, as JSON. */
  | "count";

const tracked = (server: { on(event: "connection", listener: (socket: Socket) => void): unknown }) => {
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  return sockets;
};

export async function startUpstream(
  kind: UpstreamKind,
  options: { name?: string; version?: string; huge?: number } = {},
): Promise<Upstream> {
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    if (kind === "count") {
      let bytes = 0;
      req.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
      });
      req.on("end", () => res.end(JSON.stringify({ bytes })));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => answer(kind, options, req, res, Buffer.concat(chunks).toString("utf8")));
  });
  const sockets = tracked(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    connections: () => sockets.size,
    close: () => closeServer(server, sockets),
  };
}

function answer(
  kind: UpstreamKind,
  options: { name?: string; version?: string; huge?: number },
  req: http.IncomingMessage,
  res: http.ServerResponse,
  body: string,
): void {
  switch (kind) {
    case "echo": {
      const echo: Echo = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body,
        name: options.name ?? "echo",
      };
      res.writeHead(200, {
        "content-type": "application/json",
        "x-model-version": options.version ?? "1.0.0",
        // Hop-by-hop headers the gateway must not pass on, and a Tenure-* it must not trust.
        connection: "keep-alive, x-upstream-hop",
        "x-upstream-hop": "secret",
        "keep-alive": "timeout=5",
        "tenure-model": "spoofed",
      });
      res.end(JSON.stringify(echo));
      return;
    }
    case "fail":
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"error":"model crashed"}');
      return;
    case "hang":
    case "count":
      return;
    case "reset-mid-body":
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1000" });
      res.write(Buffer.alloc(500, 1), () => setTimeout(() => res.socket?.resetAndDestroy(), 20));
      return;
    case "stall-mid-body":
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": "1000" });
      res.write(Buffer.alloc(100, 1));
      return;
    case "huge": {
      let left = options.huge ?? 64 * 1024 * 1024;
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(left) });
      const chunk = Buffer.alloc(64 * 1024, 7);
      const pump = () => {
        while (left > 0) {
          const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= piece.length;
          if (!res.write(piece)) {
            res.once("drain", pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
  }
}

/** A TCP server that answers every connection with bytes that are not HTTP. */
export async function startGarbageUpstream(): Promise<Upstream> {
  const state = { requests: 0 };
  const server: TcpServer = createTcpServer((socket) => {
    state.requests++;
    socket.on("error", () => {});
    socket.once("data", () => socket.end("SSH-2.0-OpenSSH_9.2 this is not HTTP\r\n\r\n"));
  });
  const sockets = tracked(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    connections: () => sockets.size,
    close: () => closeServer(server, sockets),
  };
}

function closeServer(server: http.Server | TcpServer, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A target of a route snapshot, for tests that build routes by hand. */
export function target(overrides: Partial<SnapshotTarget> & { endpoint: string }): SnapshotTarget {
  return {
    deployment_id: 1,
    model: "fraud-gbm",
    model_version: "3.2.0",
    environment: "production",
    owner_team: "risk",
    role: "primary",
    deployment_date: Date.parse("2026-11-01T00:00:00.000Z"),
    training_data_cutoff: Date.parse("2026-10-01T00:00:00.000Z"),
    traffic_weight: null,
    sticky_header: null,
    ...overrides,
  };
}

/** Routes a test sets by hand: a RouteSource with no registry behind it. */
export class FixedRoutes implements RouteSource {
  table: RouteTable;
  constructor(models: string[], targets: SnapshotTarget[]) {
    this.table = new RouteTable(snapshot(models, targets));
  }
  set(models: string[], targets: SnapshotTarget[]): void {
    this.table = new RouteTable(snapshot(models, targets));
  }
  state() {
    return { registry: "connected" as const, lost_since: null };
  }
  async start() {}
  async close() {}
}

function snapshot(models: string[], targets: SnapshotTarget[]): RouteSnapshot {
  return withVersion("production", models, targets);
}
