import http from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import Fastify from "fastify";
import { tenureExpress } from "../../src/sdk/express.js";
import { tenureFastify } from "../../src/sdk/fastify.js";
import { withTenure } from "../../src/sdk/node-http.js";
import type { TenureSdk } from "../../src/sdk/tenure-sdk.js";
import type { DialectName } from "../../src/store/database.js";
import { startTestApp, type TestApp } from "./test-app.js";

/** A Tenure app on a real port, as a model server reaches it. */
export interface ListeningTenure {
  t: TestApp;
  url: string;
  close(): Promise<void>;
}

/** The test app listening on loopback: on `port` when given (to come up where an SDK already looks), else any. */
export async function listeningTenure(
  dialect: DialectName,
  options: { port?: number; app?: TestApp } = {},
): Promise<ListeningTenure> {
  const t = options.app ?? (await startTestApp(dialect));
  await t.app.listen({ port: options.port ?? 0, host: "127.0.0.1" });
  const { port } = t.app.server.address() as AddressInfo;
  return { t, url: `http://127.0.0.1:${port}`, close: () => t.close() };
}

export type Framework = "http" | "express" | "fastify";
export const FRAMEWORKS: Framework[] = ["http", "express", "fastify"];

/** What the model server's handler got: the parsed body and the request id it answers with. */
export interface Prediction {
  body: Record<string, unknown>;
  request_id: string;
}

export interface SdkModelServer {
  url: string;
  close(): Promise<void>;
}

/**
 * A model server of the framework with the SDK's middleware: `POST /predict` reads a JSON body,
 * calls `onPredict` (which records through the SDK) and answers `{score}`; `GET /boom` fails in
 * its handler (a 500); anything else is the framework's own 404.
 */
export async function startSdkModelServer(
  framework: Framework,
  sdk: TenureSdk,
  onPredict: (prediction: Prediction) => void = () => {},
): Promise<SdkModelServer> {
  let served = 0;
  const predict = (body: Record<string, unknown>) => {
    const request_id = `req-${++served}`;
    onPredict({ body, request_id });
    return { score: 0.9, request_id };
  };
  if (framework === "fastify") {
    const app = Fastify();
    await app.register(tenureFastify, { sdk, closeWithServer: false });
    app.post("/predict", async (request) => predict(request.body as Record<string, unknown>));
    app.get("/boom", async () => {
      throw new Error("the model failed");
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    const { port } = app.server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}`, close: () => app.close() };
  }
  let server: http.Server;
  if (framework === "express") {
    const app = express();
    app.use(tenureExpress(sdk));
    app.use(express.json());
    app.post("/predict", (req, res) => {
      res.json(predict(req.body as Record<string, unknown>));
    });
    app.get("/boom", () => {
      throw new Error("the model failed");
    });
    server = http.createServer(app);
  } else {
    server = http.createServer(
      withTenure(sdk, (req, res) => {
        if (req.method === "POST" && req.url === "/predict") {
          const chunks: Buffer[] = [];
          req.on("data", (chunk: Buffer) => chunks.push(chunk));
          req.on("end", () => {
            const answer = predict(JSON.parse(Buffer.concat(chunks).toString() || "{}"));
            res.writeHead(200, { "content-type": "application/json" });
            res.end(JSON.stringify(answer));
          });
        } else if (req.url === "/boom") {
          res.statusCode = 500;
          res.end("the model failed");
        } else {
          res.statusCode = 404;
          res.end();
        }
      }),
    );
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** POSTs a prediction request and returns the answer with how long it took. */
export async function predict(
  url: string,
  body: Record<string, unknown> = { amount: 12.5 },
): Promise<{ status: number; headers: Headers; json: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const response = await fetch(`${url}/predict`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const json = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, json, ms: performance.now() - started };
}

/** The Tenure-* headers of an answer, by lowercase name. */
export function tenureHeaders(headers: Headers): Record<string, string> {
  return Object.fromEntries([...headers].filter(([name]) => name.startsWith("tenure-")));
}
