import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { hasZodFastifySchemaValidationErrors } from "fastify-type-provider-zod";
import {
  ConflictError,
  type FieldIssue,
  ForbiddenError,
  InputError,
  NotFoundError,
  RateLimitedError,
  SweepFailedError,
  TokenExpiredError,
  UnauthenticatedError,
  UnavailableError,
  UnprocessableError,
} from "../core/errors.js";
import { isDataError, isUnavailable } from "../store/database.js";
import { MalformedBodyError, UnsupportedBodyTypeError } from "./body-types.js";

/** Problem types are documented in README.md under "Errors". */
const TYPE_BASE = "https://tenure.dev/problems/";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  errors?: FieldIssue[];
}

const TITLES: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  408: "Request Timeout",
  409: "Conflict",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  503: "Service Unavailable",
};

export function problem(status: number, type: string, detail: string, errors?: FieldIssue[]): ProblemBody {
  return {
    type: `${TYPE_BASE}${type}`,
    title: TITLES[status] ?? "Error",
    status,
    detail,
    ...(errors ? { errors } : {}),
  };
}

export function sendProblem(reply: FastifyReply, body: ProblemBody): FastifyReply {
  // A route that authenticates otherwise (a signed webhook) names its own challenge.
  if (body.status === 401 && !reply.hasHeader("www-authenticate")) {
    reply.header("www-authenticate", 'Bearer realm="tenure"');
  }
  // The pool replaces a lost connection at once; a database that restarts takes seconds.
  if (body.status === 503) reply.header("retry-after", "1");
  return reply.code(body.status).type("application/problem+json").send(body);
}

/**
 * The one place that maps errors to HTTP (RFC 9457 problem details). Domain errors carry no
 * status; client mistakes Fastify itself detects keep their 4xx status; anything else is a
 * server fault, logged in full and answered without internals.
 */
export function toProblem(error: unknown, request: FastifyRequest): ProblemBody {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const context = (error as { validationContext?: string }).validationContext ?? "body";
    const input = inputOf(request, context);
    const issues = error.validation.flatMap((v) => fieldIssues(v, context, input));
    return problem(400, "validation", `the request ${contextName(context)} is not valid`, issues);
  }
  if (error instanceof InputError) return problem(400, "validation", error.message, error.issues);
  if (error instanceof UnprocessableError) return problem(422, "unprocessable", error.message, error.issues);
  if (error instanceof NotFoundError) return problem(404, "not-found", error.message);
  if (error instanceof ConflictError) return problem(409, "conflict", error.message);
  if (error instanceof ForbiddenError) return problem(403, "forbidden", error.message);
  if (error instanceof TokenExpiredError) return problem(401, "token-expired", error.message);
  if (error instanceof UnauthenticatedError) return problem(401, "unauthenticated", error.message);
  if (error instanceof MalformedBodyError) return problem(400, "malformed", error.message);
  if (error instanceof UnsupportedBodyTypeError) return problem(415, "unsupported-media-type", error.message);
  if (error instanceof UnavailableError) return problem(503, "unavailable", error.message);
  // The limiter that threw has set Retry-After.
  if (error instanceof RateLimitedError) return problem(429, "rate-limited", error.message);
  if (error instanceof SweepFailedError) {
    request.log.error({ err: error.cause, sweep_id: error.sweep_id }, "sweep failed");
    return problem(500, "internal", error.message);
  }
  if (isDataError(error)) {
    return problem(400, "validation", "the database cannot store a value of this request");
  }
  if (isUnavailable(error)) {
    request.log.warn({ err: error }, "request failed: the database does not answer");
    return problem(503, "unavailable", "the database does not answer; try again shortly");
  }
  const fastifyError = error as Partial<FastifyError>;
  const status = fastifyError.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    return problem(status, fastifyErrorType(fastifyError), clientErrorDetail(fastifyError, request));
  }
  request.log.error({ err: error }, "request failed");
  return problem(500, "internal", "the server failed to handle this request; the fault is logged");
}

function inputOf(request: FastifyRequest, context: string): unknown {
  if (context === "querystring") return request.query;
  if (context === "params") return request.params;
  if (context === "headers") return request.headers;
  return request.body;
}

/** Follows a JSON pointer path (`/points/3/value`) into the request's input. */
function valueAt(input: unknown, path: string[]): unknown {
  let value = input;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function fieldIssues(
  v: { instancePath: string; message?: string; keyword: string; params: Record<string, unknown> },
  context: string,
  input: unknown,
): FieldIssue[] {
  const field = v.instancePath.replace(/^\//, "").replaceAll("/", ".");
  if (v.keyword === "unrecognized_keys" && Array.isArray(v.params.keys)) {
    return v.params.keys.map((key) => ({
      field: field ? `${field}.${String(key)}` : String(key),
      message: "is not a known field",
    }));
  }
  const path = field ? field.split(".") : [];
  const missing =
    path.length > 0 && input !== null && typeof input === "object" && valueAt(input, path) === undefined;
  return [
    {
      field: field || context,
      message: missing ? "is required" : (v.message ?? "is not valid"),
    },
  ];
}

function contextName(context: string): string {
  return context === "querystring" ? "query" : context === "params" ? "path" : context;
}

function fastifyErrorType(error: Partial<FastifyError>): string {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return "too-large";
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "unsupported-media-type";
    default:
      return error.statusCode === 400 ? "malformed" : "client-error";
  }
}

function clientErrorDetail(error: Partial<FastifyError>, request: FastifyRequest): string {
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      // Batch routes take more than the API's 1 MiB: a client splitting its batch needs the route's own limit.
      return `the request body is larger than ${mebibytes(request.routeOptions.bodyLimit ?? MIB)}, the limit of ${request.method} ${routePath(request)}`;
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return "send the body as application/json";
    default:
      return error.message ?? "the request is not valid";
  }
}

const MIB = 1024 * 1024;

function mebibytes(bytes: number): string {
  return bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`;
}

/** The route's path as the API documents it: `/v1/deployments/{id}/samples`. */
function routePath(request: FastifyRequest): string {
  return (request.routeOptions.url ?? request.url.split("?")[0] ?? "").replace(/:(\w+)/g, "{$1}");
}

/**
 * What a client whose request never reached the router hears, as problem+json like every other
 * error: a head over the limit (431), a head or body not sent in time (408), or bytes that are
 * not HTTP (400). The connection is closed after it, since its stream is no longer in step.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const body =
    error.code === "HPE_HEADER_OVERFLOW"
      ? problem(431, "header-too-large", "the request line and headers are larger than the server takes")
      : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? problem(408, "request-timeout", "the request was not sent in time")
        : problem(400, "malformed", "the request is not valid HTTP");
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${body.status} ${body.title}\r\nConnection: close\r\nContent-Type: application/problem+json\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
    );
  }
  socket.destroy(error);
}
