import type { IncomingMessage, ServerResponse } from "node:http";
import { stampResponse } from "./node-http.js";
import type { TenureSdk } from "./tenure-sdk.js";

/**
 * Express 5 middleware (4 takes the same shape): every answer carries the metadata headers, Express's own not-found
 * and error pages included (the stamp goes on as the head is written, whoever writes it). Typed on
 * Node's own request and response, which Express's extend, so the SDK needs no Express types.
 * Starts the SDK's background work; call `sdk.close()` on shutdown.
 */
export function tenureExpress(
  sdk: TenureSdk,
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  sdk.start();
  return function tenureMiddleware(_req, res, next): void {
    stampResponse(sdk, res);
    next();
  };
}
