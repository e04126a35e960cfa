import type { IncomingMessage, ServerResponse } from "node:http";
import type { TenureSdk } from "./tenure-sdk.js";

/**
 * Stamps the metadata headers on a response just before its head is written, whoever writes it
 * (the handler, a framework's error or not-found page) and however (`writeHead`, or a first
 * `write`/`end`, which Node turns into `writeHead`). A header the handler set itself is kept.
 * Stamping reads only what the SDK holds in memory: it never waits for Tenure.
 */
export function stampResponse(sdk: TenureSdk, res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function tenureWriteHead(this: ServerResponse, ...args: unknown[]) {
    if (!this.headersSent) {
      try {
        sdk.stamp((name, value) => {
          if (!this.hasHeader(name)) this.setHeader(name, value);
        });
      } catch {
        // The answer matters more than its stamp: a header Node refuses is left off.
      }
    }
    return (writeHead as (...args: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse["writeHead"];
}

/**
 * Wraps the request listener of Node's `http.createServer` (or anything that takes one): every
 * answer carries the metadata headers. Starts the SDK's background work.
 */
export function withTenure<Req extends IncomingMessage, Res extends ServerResponse>(
  sdk: TenureSdk,
  listener: (req: Req, res: Res) => unknown,
): (req: Req, res: Res) => unknown {
  sdk.start();
  return function tenureListener(req: Req, res: Res): unknown {
    stampResponse(sdk, res);
    return listener(req, res);
  };
}
