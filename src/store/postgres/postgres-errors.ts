import type { DatabaseErrorKind } from "../dialect-driver.js";
import { QUERY_TIMEOUT_MESSAGE } from "./query-patches.js";

/** What the socket reports when the server cannot be reached or the connection is lost. */
const NETWORK_CODES = ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"];

/**
 * What a PostgreSQL (or pg) error means, by its SQLSTATE:
 * - 23505, unique_violation;
 * - 40001 serialization_failure and 40P01 deadlock_detected: a lost race, worth retrying;
 * - class 22, "data exception" (a NUL byte in text, a number out of range): the edges validate
 *   against these, so this is the last guard that makes a value that slipped through the
 *   client's 400 rather than the server's 500;
 * - class 08, "connection exception", and 57P01–57P03 (a server shutting down, crashed or
 *   starting), the socket's codes, and pg's own errors for a lost connection or a timeout (to
 *   connect, or for a statement's answer), which carry no code: the database is out of reach,
 *   and a request may succeed once it is back;
 * - 3D000, invalid_catalog_name: the URL names a database the server does not have.
 */
export function classifyPostgresError(error: unknown): DatabaseErrorKind | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code !== "string") {
    const lost =
      typeof message === "string" &&
      (message.startsWith("Connection terminated") ||
        // The query timeout (a statement unanswered) and pg-pool's connect timeout.
        message === QUERY_TIMEOUT_MESSAGE ||
        message === "timeout exceeded when trying to connect" ||
        message === "Client has encountered a connection error and is not queryable" ||
        message === "Client was closed and is not queryable");
    return lost ? "unavailable" : undefined;
  }
  if (code === "23505") return "unique-violation";
  if (code === "40001" || code === "40P01") return "contention";
  if (code === "3D000") return "missing-database";
  if (code.length === 5 && code.startsWith("22")) return "data";
  if (
    (code.length === 5 && code.startsWith("08")) ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03" ||
    NETWORK_CODES.includes(code)
  ) {
    return "unavailable";
  }
  return undefined;
}
