import type { IncomingHttpHeaders } from "node:http";

/**
 * Headers that describe one connection, not the message, and so are never forwarded by a proxy
 * (RFC 9110 §7.6.1): Connection and the headers it names, plus the fields the RFC lists as
 * connection-specific in practice (Proxy-Connection, Keep-Alive, TE, Transfer-Encoding, Upgrade)
 * and the proxy's own credentials and challenges (Proxy-Authorization, Proxy-Authenticate), as
 * Hono's proxy helper drops them. Trailer announces trailers, which the gateway does not relay.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
]);

/**
 * Request headers the gateway sets itself or cannot forward: the upstream's Host comes from its
 * endpoint (ingresses route by it; the client's goes in X-Forwarded-Host), the request id is the
 * gateway's, and undici refuses `Expect` (Node's server already answered 100 Continue).
 */
const SET_BY_GATEWAY = new Set([
  "host",
  "x-request-id",
  "expect",
  "x-forwarded-for",
  "x-forwarded-host",
  "x-forwarded-proto",
]);

/**
 * The header names a Connection header lists, lowercased: they are hop-by-hop too. Almost every
 * message names one (`keep-alive`, `close`): that one name is returned as it is, without the Set
 * a list needs, as this runs twice a request.
 */
function connectionTokens(value: string | string[] | undefined): string | Set<string> | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" && value.indexOf(",") === -1) return value.trim().toLowerCase();
  const names = new Set<string>();
  for (const part of Array.isArray(value) ? value : [value]) {
    for (const token of part.split(",")) {
      const name = token.trim().toLowerCase();
      if (name !== "") names.add(name);
    }
  }
  return names;
}

function isNamed(named: string | Set<string> | undefined, name: string): boolean {
  return typeof named === "string" ? named === name : named?.has(name) === true;
}

/**
 * The client's request headers as they go upstream: hop-by-hop ones removed, the gateway's own
 * left for the caller to add. Node has already joined repeated headers as RFC 9110 allows.
 */
export function forwardedRequestHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const named = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || SET_BY_GATEWAY.has(name) || isNamed(named, name))
      continue;
    out[name] = value;
  }
  return out;
}

/**
 * The upstream's response headers as a flat list for `writeHead`, hop-by-hop ones removed
 * (Node frames the body itself: Content-Length when the upstream gave one, else chunked), and
 * any `Tenure-*` of its own: only the gateway says which deployment answered.
 */
export function forwardedResponseHeaders(headers: IncomingHttpHeaders, into: string[]): string[] {
  const named = connectionTokens(headers.connection);
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || isNamed(named, name) || name.startsWith("tenure-"))
      continue;
    if (Array.isArray(value)) for (const one of value) into.push(name, one);
    else into.push(name, value);
  }
  return into;
}
