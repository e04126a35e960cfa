import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";

/** A request as a model server received it, body read whole. */
export interface Received {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface ModelServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/**
 * A model server on loopback for shadow tests: records each request and lets `answer` reply
 * (at once, later, never, or by cutting the connection).
 */
export async function startModelServer(
  answer: (received: Received, response: http.ServerResponse) => void,
): Promise<ModelServer> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const one = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(one);
      answer(one, res);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    close: () => {
      server.closeAllConnections();
      return new Promise((done) => server.close(() => done()));
    },
  };
}

/** Answers JSON with a status. */
export function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
