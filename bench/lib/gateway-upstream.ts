/**
 * The gateway benchmark's model server: a small JSON responder on node:http, as cheap as a model
 * server can be, so that what the proxies in front of it cost is what the benchmark sees. Every
 * request other than `GET /healthz` reads its body and answers 200 with about 200 bytes of JSON
 * (a prediction, the version, the path it was asked) and states its version in `X-Model-Version`,
 * as a model server that knows its version does.
 *
 *   node --import tsx bench/lib/gateway-upstream.ts --port 9001 [--version 1.0.0]
 */
import { createServer } from "node:http";
import { z } from "zod";
import { PORT_OPTION, parseScriptOptions } from "./bench-options.js";

const flags = parseScriptOptions("gateway-upstream", {
  port: PORT_OPTION,
  version: { schema: z.string().min(1).default("1.0.0"), value: "V", help: "the model version it states" },
});

const server = createServer((request, response) => {
  if (request.method === "GET" && request.url === "/healthz") {
    response.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  let bytes = 0;
  request.on("data", (chunk: Buffer) => {
    bytes += chunk.length;
  });
  request.on("end", () => {
    const body = JSON.stringify({
      prediction: 0.42,
      label: "legit",
      model_version: flags.version,
      path: request.url,
      request_bytes: bytes,
      scores: { legit: 0.58, fraud: 0.42 },
      explanation: ["amount_z", "merchant_risk", "hour_of_day"],
    });
    response.writeHead(200, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
      "x-model-version": flags.version,
    });
    response.end(body);
  });
});
// Keep-alive connections from a proxy stay open between bursts, as they do in front of a real one.
server.keepAliveTimeout = 60_000;
server.listen(flags.port, "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
