import pg from "pg";
import { destroyConnection, END_GRACE_MS, settledWithin } from "./bounded-end.js";
import { endWhenFatal, preparePlans, sendPerTick } from "./query-patches.js";

/** PostgreSQL's int8 (bigint) type id: our epoch-millisecond columns, safe as JS numbers. */
const PG_INT8_OID = 20;

export interface PoolOptions {
  connectionString: string;
  /** Connections in the pool. */
  max: number;
  /** Prepare the statements a connection repeats (see preparePlans). */
  preparedStatements: boolean;
  /** Ms to wait for a connection (the pool's queue included); 0: no limit. */
  connectTimeoutMs: number;
  /** Ms a statement may wait for its answer; 0: no limit. */
  queryTimeoutMs: number;
}

/** A server that accepts TCP and never answers is given up on after this long. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** A statement unanswered after this long has met a silent server, or is a runaway. */
export const DEFAULT_QUERY_TIMEOUT_MS = 30_000;

/**
 * pg's pool as Tenure uses it: in pipeline mode, int8 read as numbers, each connection given
 * Tenure's session settings and query patches (src/store/postgres/query-patches.ts) as it connects.
 */
export function createPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.max,
    // pg's connect timeout, and pg-pool's for a caller waiting for a connection. Without them a
    // server that takes the TCP connection and never answers (a black-holed network, a hung
    // host) holds each request until the operating system gives up on TCP, for minutes.
    connectionTimeoutMillis: options.connectTimeoutMs,
    // A statement's answer that does not come (the server went silent mid-query) fails the
    // statement with "Query read timeout"; in pipeline mode pg then destroys the connection, and
    // the pool drops it. It counts from when the statement is issued, so it also bounds a
    // statement that merely runs long, or waits long for a lock: well beyond what a request's
    // statements take (BENCHMARKS.md). Server-side statement_timeout would not do: a silent
    // server sends no error.
    query_timeout: options.queryTimeoutMs,
    // A connection sends a statement at once, without waiting for the answer to the one before
    // (pg's pipeline mode): see pipelinedTransactions. A connection still runs one statement at
    // a time, in the order they were sent, each with its own result or error.
    pipeline: true,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === PG_INT8_OID
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  const open = new Set<pg.Client>();
  openClients.set(pool, open);
  pool.on("connect", (client) => {
    open.add(client);
    client.once("end", () => open.delete(client));
    // The pool listens for a client's errors only while it is idle. A connection lost while a
    // client is lent out (the server restarted, a failover, an administrator's
    // pg_terminate_backend) fails the client's queries, and the pool drops the client when it
    // comes back; without a listener the client's 'error' event would also end the process.
    client.on("error", () => {});
    applySessionSettings(client);
    if (options.preparedStatements) preparePlans(client);
    sendPerTick(client);
    endWhenFatal(client);
  });
  return pool;
}

/**
 * PostgreSQL's default random_page_cost (4) prices an index's heap reads as from a spinning
 * disk. For a team's page in age order it then prefers reading every deployment in age order
 * and skipping the other teams' to the team's own index (BENCHMARKS.md, registry session 4).
 * Tenure's tables live in memory or on SSDs, where 1.1 is the usual setting; a server or
 * database configured with another value than the default keeps it. Queued before any query of
 * the client, on its own connection.
 */
function applySessionSettings(client: pg.PoolClient): void {
  client
    .query(
      "select set_config('random_page_cost', '1.1', false) where current_setting('random_page_cost') = '4'",
    )
    .catch(() => {});
}

/** Each pool's connected clients, until each ends: what a bounded end may have to cut. */
const openClients = new WeakMap<pg.Pool, Set<pg.Client>>();

/**
 * Ends a pool made by createPool through `end` (Kysely's destroy, which ends the pool), and
 * waits for its connections' goodbyes, for at most `graceMs`; the sockets of the connections
 * still open then are cut. pg-pool's end sends each idle connection's goodbye without waiting
 * for it, and waits for lent-out ones to come back; a connection that went silent answers
 * neither, and its open socket would keep the process from exiting until the operating
 * system's TCP timeouts (minutes). Nothing acknowledged is at stake: a stop ends the pool only
 * after the requests were answered.
 */
export async function endPoolWithin(
  pool: pg.Pool,
  end: () => Promise<void>,
  graceMs = END_GRACE_MS,
): Promise<void> {
  const open = openClients.get(pool) ?? new Set<pg.Client>();
  let failure: { error: unknown } | undefined;
  const ended = (async () => {
    await end();
    await Promise.all([...open].map((client) => new Promise((resolve) => client.once("end", resolve))));
  })().catch((error: unknown) => {
    failure = { error };
  });
  await settledWithin(ended, graceMs);
  for (const client of open) destroyConnection(client);
  // The end's own failure, when it came in time, is the caller's to hear, as before.
  if (failure) throw failure.error;
}
