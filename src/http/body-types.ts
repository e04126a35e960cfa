import type { FastifyRequest } from "fastify";
import { InputError } from "../core/errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The media types the route's body may come as; `application/json` when absent. */
    bodyTypes?: readonly string[];
  }
}

export const JSON_TYPE = "application/json";

/** The body is not JSON although it says it is (400 `malformed`). */
export class MalformedBodyError extends Error {
  override name = "MalformedBodyError";
}

/** The body comes as a media type the route does not take (415 `unsupported-media-type`). */
export class UnsupportedBodyTypeError extends Error {
  override name = "UnsupportedBodyTypeError";
}

/**
 * Parses a JSON body. Keys that set an object's prototype when code merges the object into
 * another (prototype pollution) are refused by name, not as "not JSON": the body is valid JSON.
 */
export function parseJsonBody(text: string): unknown {
  if (!/\S/.test(text)) throw new MalformedBodyError("the body is empty; send a JSON object");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const kind = fileKindOf(text);
    throw new MalformedBodyError(
      `the body is not valid JSON${kind ? ` (it looks like ${kind})` : ""}: ${reason}; send a JSON object` +
        (kind
          ? `, or the file as ${kind === "CSV" ? "text/csv" : "application/x-ndjson"} to ${REFERENCE_ROUTE}`
          : ""),
    );
  }
  // JSON.parse keeps "__proto__" as an ordinary key, so only a body that spells one needs the walk.
  const poisoned = /__proto__|constructor/.test(text) ? poisonedKey(value, []) : null;
  if (poisoned) {
    throw new InputError(
      `the body has a key ${poisoned.key}${poisoned.field === poisoned.key ? "" : ` (at ${poisoned.field})`}, which is refused: ` +
        "code that copies such a key into another object changes that object's prototype",
      [{ field: poisoned.field, message: `is refused: ${poisoned.key} can change an object's prototype` }],
    );
  }
  return value;
}

/** A key JSON allows but the API refuses: `__proto__`, or `constructor` holding a `prototype`. */
function poisonedKey(value: unknown, path: string[]): { field: string; key: string } | null {
  if (value === null || typeof value !== "object") return null;
  for (const [key, child] of Object.entries(value)) {
    const here = [...path, key];
    if (key === "__proto__") return { field: here.join("."), key };
    if (key === "constructor" && child !== null && typeof child === "object" && "prototype" in child)
      return { field: [...here, "prototype"].join("."), key: "constructor.prototype" };
    const inner = poisonedKey(child, here);
    if (inner) return inner;
  }
  return null;
}

const REFERENCE_ROUTE = "POST /v1/deployments/{id}/reference";

/** The files the reference route takes, by media type. */
const FILE_KINDS = new Map<string, "CSV" | "JSON Lines">([
  ["text/csv", "CSV"],
  ["application/x-ndjson", "JSON Lines"],
  ["application/jsonl", "JSON Lines"],
]);

/** CSV or JSON Lines, when a body that is not JSON looks like one of the files the API takes. */
function fileKindOf(text: string): "CSV" | "JSON Lines" | null {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== "");
  const first = lines[0]?.trim() ?? "";
  if (lines.length > 1 && lines.every(isJsonObject)) return "JSON Lines";
  if (!/^[[{"]/.test(first) && /[,;\t]/.test(first)) return "CSV";
  return null;
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === "object" && !Array.isArray(value);
  } catch {
    return false;
  }
}

/** The media type of the request's body, or null when it has none (bodies Fastify does not read). */
function sentType(request: FastifyRequest): string | null {
  const headers = request.headers;
  const hasBody =
    headers["transfer-encoding"] !== undefined ||
    (headers["content-length"] !== undefined && headers["content-length"] !== "0");
  if (!hasBody || request.method === "GET" || request.method === "HEAD") return null;
  return (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * Refuses, before the body is read, a body of a media type the route does not take: every route
 * takes JSON, and a route's `bodyTypes` may add more (the reference takes CSV and JSON Lines).
 */
export function assertBodyType(request: FastifyRequest): void {
  if (request.is404) return;
  const sent = sentType(request);
  if (sent === null) return;
  const accepted = request.routeOptions.config.bodyTypes ?? [JSON_TYPE];
  if (accepted.includes(sent)) return;
  const route = `${request.method} ${request.routeOptions.url ?? ""}`.replace(/:(\w+)/g, "{$1}");
  const what = sent === "" ? "the body came without a Content-Type" : `the body came as ${sent}`;
  const files = FILE_KINDS.get(sent);
  const elsewhere = files ? `; ${files} files go to ${REFERENCE_ROUTE}` : "";
  throw new UnsupportedBodyTypeError(`${what}; ${route} takes ${accepted.join(", ")}${elsewhere}`);
}
