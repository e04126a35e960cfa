/**
 * The gateway benchmark's node-http-proxy peer (`http-proxy`, the most used Node proxy): a bare
 * node:http server that forwards `/{model}/{rest}` to `{upstream}/{rest}` through
 * `proxy.web`, with a keep-alive agent to the upstream.
 *
 *   node --import tsx bench/lib/proxy-http-proxy.ts --port 8082 --upstream http://127.0.0.1:9001
 */
import { Agent, createServer } from "node:http";
import httpProxy from "http-proxy";
import { z } from "zod";
import { PORT_OPTION, parseScriptOptions } from "./bench-options.js";

const flags = parseScriptOptions("proxy-http-proxy", {
  port: PORT_OPTION,
  upstream: { schema: z.url(), value: "URL", help: "the model server: http://127.0.0.1:PORT" },
});

const proxy = httpProxy.createProxyServer({
  target: flags.upstream,
  agent: new Agent({ keepAlive: true, keepAliveMsecs: 60_000 }),
});
proxy.on("error", (_error, _req, res) => {
  if ("writeHead" in res && !res.headersSent) res.writeHead(502, { "content-type": "text/plain" });
  res.end();
});

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
    return;
  }
  const url = req.url ?? "/";
  const slash = url.indexOf("/", 1);
  req.url = slash < 0 ? "/" : url.slice(slash);
  proxy.web(req, res);
});
server.keepAliveTimeout = 60_000;
server.listen(flags.port, "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
