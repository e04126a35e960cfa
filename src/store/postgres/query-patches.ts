import type pg from "pg";

/*
 * What each PostgreSQL connection's `query` is wrapped in when the pool connects it
 * (src/store/postgres/postgres-pool.ts): each patch calls the `query` before it and changes one
 * thing about how statements leave or how a failure ends the client.
 */

/**
 * A statement that PostgreSQL answered with a FATAL error (its backend is gone: terminated by
 * an administrator, a restart, a crash), or whose answer never came within the query timeout
 * (pg destroys the connection, src/store/postgres/postgres-pool.ts), ends the client at once.
 * The connection's end comes in a moment later; until it does, the client would go back to the
 * pool as usable and fail the next statement it is lent for. An ending client is dropped by the
 * pool instead.
 */
export function endWhenFatal(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      const { severity, message } = (error ?? {}) as { severity?: unknown; message?: unknown };
      if (severity === "FATAL" || severity === "PANIC" || message === QUERY_TIMEOUT_MESSAGE) {
        client.end().catch(() => {});
      }
      throw error;
    });
  }) as typeof client.query;
}

/** pg's error for a statement whose answer did not come within `query_timeout`. */
export const QUERY_TIMEOUT_MESSAGE = "Query read timeout";

/**
 * Statements a connection is given in one turn of the event loop leave in one write. pg writes
 * each statement on its own, one `writev` a statement, and each wakes PostgreSQL's backend,
 * which on a busy machine can take the server's core before the next statement is written. A
 * pipelined batch issues its statements together, in one synchronous run: the socket is corked
 * at the first and uncorked once the run is over (`process.nextTick`, the idiom of Node's stream
 * docs). Fewer writes a batch: BENCHMARKS.md, registry session 8.
 */
export function sendPerTick(client: pg.PoolClient): void {
  const stream = client.connection.stream;
  let corked = false;
  const uncork = () => {
    corked = false;
    stream.uncork();
  };
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  client.query = ((...args: unknown[]) => {
    if (!corked) {
      corked = true;
      stream.cork();
      process.nextTick(uncork);
    }
    return query(...args);
  }) as typeof client.query;
}

/** Statements one connection prepares by name, at most; PostgreSQL keeps each one's plan. */
const PREPARED_PER_CONNECTION = 256;
/** Characters of statement text one connection remembers, at most (about 1 MB). */
const REMEMBERED_PER_CONNECTION = 1_000_000;
/** A statement longer than this is a one-off (a chunk of many rows): never prepared. */
const MAX_PREPARED_LENGTH = 16 * 1024;

/**
 * Kysely sends every statement unnamed, so PostgreSQL plans it anew each time, and planning a
 * list page's query costs more than running it. Here a connection prepares a statement by name
 * the second time it runs it, and PostgreSQL keeps its plan for the connection's life (choosing
 * between a plan for the values at hand and a generic one as it does for every prepared
 * statement). What it buys: BENCHMARKS.md, registry session 4. Bounded per connection; a
 * statement whose plan PostgreSQL can no longer use (a migration changed its table) fails once,
 * then is prepared again under a new name. Statements are remembered, by their text, up to
 * about 1 MB a connection; those that come later are sent unnamed.
 */
export function preparePlans(client: pg.PoolClient): void {
  const names = new Map<string, string | null>();
  let prepared = 0;
  let remembered = 0;
  const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
  const named = (text: string): string | undefined => {
    const name = names.get(text);
    if (name) return name;
    if (name === undefined) {
      if (remembered + text.length <= REMEMBERED_PER_CONNECTION) {
        names.set(text, null);
        remembered += text.length;
      }
      return undefined;
    }
    if (prepared >= PREPARED_PER_CONNECTION) return undefined;
    const fresh = `tenure_${++prepared}`;
    names.set(text, fresh);
    return fresh;
  };
  client.query = ((text: unknown, values?: unknown, ...rest: unknown[]) => {
    if (
      typeof text !== "string" ||
      !Array.isArray(values) ||
      rest.length > 0 ||
      text.length > MAX_PREPARED_LENGTH
    ) {
      return query(text, values, ...rest);
    }
    const name = named(text);
    if (!name) return query(text, values);
    return query({ name, text, values }).catch((error: unknown) => {
      // 0A000: "cached plan must not change result type", after the table changed.
      if ((error as { code?: unknown }).code === "0A000") names.set(text, null);
      throw error;
    });
  }) as typeof client.query;
}
