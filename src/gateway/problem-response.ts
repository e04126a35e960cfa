import type { ServerResponse } from "node:http";

/** Problem types are documented in README.md under "Errors", like the server's. */
const TYPE_BASE = "https://tenure.dev/problems/";

const TITLES: Record<number, string> = {
  404: "Not Found",
  405: "Method Not Allowed",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * Answers with an RFC 9457 problem of the same shape as the server's (src/http/problem.ts),
 * written straight to Node's response: the gateway has no framework on its hot path. `headers`
 * is a flat name/value list (the deployment's stamp, the request id).
 */
export function writeProblem(
  res: ServerResponse,
  status: number,
  type: string,
  detail: string,
  headers: string[],
): void {
  const body = JSON.stringify({
    type: `${TYPE_BASE}${type}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
  });
  headers.push("content-type", "application/problem+json", "content-length", String(Buffer.byteLength(body)));
  // The routes are pushed within a second of a change: worth trying again that soon.
  if (status === 503) headers.push("retry-after", "1");
  res.writeHead(status, headers);
  res.end(body);
}
