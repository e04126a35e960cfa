import type { FastifyRequest } from "fastify";
import { REDACTED } from "../core/redact-secrets.js";

/**
 * Query parameters that carry a credential: a calendar subscription sends its token as
 * `?token=` (calendar apps cannot send headers), and access logs must not keep it.
 */
const SECRET_PARAMS = new Set(["token", "access_token"]);

/**
 * How a request appears in the log: fastify's own fields, with the values of credential query
 * parameters replaced by `***`. Set as pino's `req` serializer, it replaces fastify's.
 */
export function requestLogValue(request: FastifyRequest) {
  return {
    method: request.method,
    url: withoutSecretParams(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket ? request.socket.remotePort : undefined,
  };
}

/** The URL as received, with each credential parameter's value redacted; the rest byte for byte. */
export function withoutSecretParams(url: string): string {
  const mark = url.indexOf("?");
  if (mark < 0) return url;
  const query = url
    .slice(mark + 1)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && SECRET_PARAMS.has(safeDecode(name).toLowerCase()) ? `${name}=${REDACTED}` : pair;
    })
    .join("&");
  return `${url.slice(0, mark)}?${query}`;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
}
