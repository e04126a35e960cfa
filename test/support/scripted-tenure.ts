import http from "node:http";
import type { AddressInfo } from "node:net";

/** One request as the stand-in received it. */
export interface Arrival {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
  /** `performance.now()` when it arrived. */
  at: number;
}

/** An answer to give: a status, headers and a JSON body. */
export interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface ScriptedTenure {
  url: string;
  port: number;
  arrivals: Arrival[];
  /** Answers for the next requests to a path (by `METHOD /path`), in order; `fallback` after them. */
  script(route: string, answers: Scripted[]): void;
  close(): Promise<void>;
}

/**
 * A stand-in for Tenure's API that answers what a test scripts, per route, for the cases a real
 * server cannot be made to give on cue (429 with Retry-After, 503s). Unscripted requests get
 * `fallback(route)`, or 404 as problem+json.
 */
export async function startScriptedTenure(
  fallback: (route: string) => Scripted | undefined = () => undefined,
): Promise<ScriptedTenure> {
  const scripts = new Map<string, Scripted[]>();
  const arrivals: Arrival[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = (req.url ?? "").split("?")[0];
      const route = `${req.method} ${path}`;
      arrivals.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        body: Buffer.concat(chunks).toString(),
        at: performance.now(),
      });
      const answer = scripts.get(route)?.shift() ??
        fallback(route) ?? {
          status: 404,
          headers: { "content-type": "application/problem+json" },
          body: { type: "about:blank", title: "Not Found", status: 404, detail: `no ${route} here` },
        };
      res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
      res.end(answer.body === undefined ? "" : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    arrivals,
    script: (route, answers) => scripts.set(route, [...(scripts.get(route) ?? []), ...answers]),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A deployment as `GET /v1/deployments/{id}` answers it, for the stand-in. */
export function deploymentBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 1,
    model: "fraud-gbm",
    model_version: "3.2.0",
    environment: "production",
    owner_team: "risk",
    role: "primary",
    status: "active",
    deployment_date: "2026-11-01T00:00:00.000Z",
    training_data_cutoff: "2026-10-01T00:00:00.000Z",
    endpoint: null,
    ...overrides,
  };
}
