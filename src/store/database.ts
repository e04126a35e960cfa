import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type SqliteDatabase from "better-sqlite3";
import {
  CompiledQuery,
  type ConnectionProvider,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresDialect,
  PostgresDriver,
  SingleConnectionProvider,
  SqliteDialect,
  sql,
  Transaction,
} from "kysely";
import pg from "pg";
import { InputError } from "../core/errors.js";
import { BACKSTOP_CHECKPOINT_PAGES, type Checkpointer, startCheckpointer } from "./checkpointer.js";
import type { Schema } from "./schema.js";
import {
  DirectSqlite,
  type DriverStatement,
  openSqliteHandle,
  rowBuilder,
  StatementCache,
} from "./sqlite-connection.js";

export type DialectName = "sqlite" | "postgres";

/** An open database: the Kysely handle, which dialect it speaks, and how to close it. */
export interface Database {
  db: Kysely<Schema>;
  dialect: DialectName;
  /** Where it is, with any password removed: for logs and messages. */
  location: string;
  /** SQLite: the connection's own prepared statements, for stores bound to a transaction. */
  direct?: DirectSqlite;
  /**
   * Runs `work` in a transaction: PostgreSQL's pipelined (see pipelinedTransactions), SQLite's
   * immediate (see immediateTransactions).
   */
  transaction: <T>(work: (trx: Transaction<Schema>) => Promise<T>) => Promise<T>;
  close(): Promise<void>;
}

export type Executor = Kysely<Schema> | Transaction<Schema>;

/**
 * SQLite's own prepared statements for a store bound to a transaction (see DirectSqlite): Kysely
 * holds the connection for the transaction, so nothing else can run on it in between. Undefined
 * outside a transaction and on PostgreSQL.
 */
export function directIn(database: Database, executor: Executor): DirectSqlite | undefined {
  // A store kept past its transaction's end must not write on the connection outside it: it
  // falls back to Kysely, which refuses a transaction that has ended.
  return openTransactions.has(executor) ? database.direct : undefined;
}

/** The SQLite transactions under way (see immediateTransactions): the only ones that run statements, on DirectSqlite or Kysely. */
const openTransactions = new WeakSet<Executor>();

/** PostgreSQL's int8 (bigint) type id: our epoch-millisecond columns, safe as JS numbers. */
const PG_INT8_OID = 20;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

export interface OpenOptions {
  /** PostgreSQL: connections in the pool (10). */
  poolSize?: number;
  /**
   * PostgreSQL: run the statements a connection repeats as named prepared statements, whose
   * plans PostgreSQL keeps (on by default; see preparePlans). Off for a pooler that cannot carry
   * them, such as PgBouncer before 1.21 in transaction mode.
   */
  preparedStatements?: boolean;
  /**
   * SQLite: copy the WAL back into the database on a thread of its own rather than in the middle
   * of commits (src/store/checkpointer.ts). For a long-running server; a short CLI command would
   * pay more to start the thread than it saves.
   */
  backgroundCheckpoints?: boolean;
  /** Told when background checkpoints failed and commits went back to checkpointing in line. */
  onCheckpointFailure?: (message: string) => void;
}

/**
 * Opens the database that `url` names: a `postgres://` URL selects PostgreSQL, anything else is
 * a SQLite file path (created if missing, in a folder that must exist), opened in WAL mode.
 */
export function openDatabase(url: string, options: OpenOptions = {}): Database {
  if (isPostgresUrl(url))
    return openPostgres(url, options.poolSize ?? 10, options.preparedStatements ?? true);
  const file = url === ":memory:" ? url : resolve(url);
  if (file !== ":memory:") checkFolder(dirname(file));
  return openSqlite(file, options);
}

function openSqlite(file: string, options: OpenOptions): Database {
  const handle = openSqliteHandle(file);
  const statements = cachingStatements(handle);
  const dialect = new SqliteDialect({ database: statements });
  const db = new Kysely<Schema>({ dialect });
  // An in-memory database has no WAL, and no other connection could reach it.
  const checkpointer =
    options.backgroundCheckpoints && file !== ":memory:"
      ? checkpointInBackground(handle, file, options)
      : undefined;
  return {
    db,
    dialect: "sqlite",
    location: file,
    direct: new DirectSqlite(statements.prepare),
    transaction: immediateTransactions(db, dialect),
    close: async () => {
      await checkpointer?.stop();
      await db.destroy();
    },
  };
}

function checkpointInBackground(
  handle: SqliteDatabase.Database,
  file: string,
  options: OpenOptions,
): Checkpointer {
  handle.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
  return startCheckpointer(file, (message) => {
    if (handle.open) handle.pragma(`wal_autocheckpoint = ${INLINE_CHECKPOINT_PAGES}`);
    options.onCheckpointFailure?.(message);
  });
}

/** SQLite's own threshold, which commits go back to should the checkpointer thread fail. */
const INLINE_CHECKPOINT_PAGES = 1_000;

/** better-sqlite3 statements, prepared once per SQL text, with rows built by a compiled literal. */
function cachingStatements(handle: SqliteDatabase.Database): {
  close(): void;
  prepare(text: string): DriverStatement;
} {
  const statements = new StatementCache((text) => rowsAsObjects(handle.prepare(text)));
  return { close: () => handle.close(), prepare: (text: string) => statements.get(text) };
}

/**
 * A reading statement in better-sqlite3's raw mode, its arrays made into row objects by
 * `rowBuilder` (src/store/sqlite-connection.ts): less than half the cost of better-sqlite3's
 * own objects.
 */
function rowsAsObjects(statement: SqliteDatabase.Statement): DriverStatement {
  if (!statement.reader) return statement;
  const build = rowBuilder(statement.columns().map((column) => column.name));
  statement.raw(true);
  return {
    reader: true,
    all: (...parameters: unknown[]) => (statement.all(...parameters) as unknown[][]).map(build),
    run: (...parameters: unknown[]) => statement.run(...parameters),
    *iterate(...parameters: unknown[]) {
      for (const row of statement.iterate(...parameters)) yield build(row as unknown[]);
    },
  } as DriverStatement;
}

function openPostgres(url: string, poolSize: number, prepared: boolean): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
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
  // PostgreSQL's default random_page_cost (4) prices an index's heap reads as from a spinning
  // disk. For a team's page in age order it then prefers reading every deployment in age order
  // and skipping the other teams' (1,100 rows for a page of 100) to the team's own index. Tenure's
  // tables live in memory or on SSDs, where 1.1 is the usual setting; a server or database
  // configured with another value than the default keeps it. Queued before any query of the
  // client, on its own connection.
  pool.on("connect", (client) => {
    // The pool listens for a client's errors only while it is idle. A connection lost while a
    // client is lent out (the server restarted, a failover, an administrator's
    // pg_terminate_backend) fails the client's queries, and the pool drops the client when it
    // comes back; without a listener the client's 'error' event would also end the process.
    client.on("error", () => {});
    client
      .query(
        "select set_config('random_page_cost', '1.1', false) where current_setting('random_page_cost') = '4'",
      )
      .catch(() => {});
    if (prepared) preparePlans(client);
    sendPerTick(client);
    endWhenFatal(client);
  });
  const dialect = new PostgresDialect({ pool });
  const db = new Kysely<Schema>({ dialect });
  return {
    db,
    dialect: "postgres",
    location: redactUrl(url),
    transaction: pipelinedTransactions(db, dialect, pool),
    close: () => db.destroy(),
  };
}

/**
 * SQLite transactions that take the write lock at BEGIN (BEGIN IMMEDIATE), where Kysely's BEGIN
 * defers it to the first write. A deferred transaction that has read and then writes while
 * another process (a CLI beside the server, say) holds the lock is answered SQLITE_BUSY at once,
 * without waiting: waiting could not help, its reads would be stale. Its retries, moments
 * apart, met the same lock under load, and three CLI commands registering at once failed now
 * and then. Asked at BEGIN, the lock is waited for (busy_timeout) like any other. SQLite has one
 * writer whatever the transaction does, and readers never wait for it (WAL).
 */
function immediateTransactions(
  db: Kysely<Schema>,
  dialect: SqliteDialect,
): <T>(work: (trx: Transaction<Schema>) => Promise<T>) => Promise<T> {
  const executor = db.getExecutor();
  // A Transaction never reaches for its driver: it only carries it.
  const driver = dialect.createDriver();
  return (work) =>
    executor.provideConnection(async (connection) => {
      // One statement at a time, and none once the transaction has ended: it would run outside
      // it, on a connection no longer this transaction's.
      const single = new SingleConnectionProvider(connection);
      const provider: ConnectionProvider = {
        provideConnection: (consume) =>
          openTransactions.has(trx)
            ? single.provideConnection(consume)
            : Promise.reject(new Error("the transaction has already ended")),
      };
      const trx = new Transaction<Schema>({
        config: { dialect },
        dialect,
        driver,
        executor: executor.withConnectionProvider(provider),
      });
      await connection.executeQuery(CompiledQuery.raw("begin immediate"));
      openTransactions.add(trx);
      try {
        const result = await work(trx);
        openTransactions.delete(trx);
        await connection.executeQuery(CompiledQuery.raw("commit"));
        return result;
      } catch (error) {
        openTransactions.delete(trx);
        // SQLite may have rolled back already (a full disk, an interrupt): nothing to undo then.
        await connection.executeQuery(CompiledQuery.raw("rollback")).catch(() => {});
        throw error;
      }
    });
}

/**
 * PostgreSQL transactions whose statements are not made to wait for each other. Kysely runs a
 * transaction's statements one at a time: a statement leaves only once the one before it has
 * been answered and Node's event loop has come round to that answer, a round trip each. A
 * registration batch had eleven; here it has three (BEGIN with its locks, reads and ids; its
 * writes; COMMIT), because statements issued together leave together, on a connection in
 * pipeline mode, and PostgreSQL runs them in the order they were sent. Measured in-process (32
 * registrations at a time, no HTTP): 2,652–2,999 registrations/s against 1,881–2,546, and 200
 * against 209–245 µs of CPU each; a database across a network saves a network round trip for
 * each. Code that awaits each statement runs exactly as before.
 *
 * What Kysely's own transactions guarantee still holds: a statement issued once the transaction
 * has ended is refused (it would run outside the transaction, or on a connection lent to
 * someone else); a transaction that failed is rolled back, and a connection whose rollback
 * failed is discarded; a COMMIT that PostgreSQL turned into a ROLLBACK is an error. The
 * statements sent with the BEGIN, before its answer came, are reads in practice (a batch's
 * locks and reads); once the BEGIN has failed, nothing more is sent. BEGIN fails only when the
 * connection is lost or its session is unusable, and then so do the statements behind it.
 */
function pipelinedTransactions(
  db: Kysely<Schema>,
  dialect: PostgresDialect,
  pool: pg.Pool,
): <T>(work: (trx: Transaction<Schema>) => Promise<T>) => Promise<T> {
  // Typed by its interface: it hands out, and takes back, connections of its own class.
  const driver: Driver = new PostgresDriver({ pool });
  const ready = driver.init();
  const executor = db.getExecutor();
  return async (work) => {
    await ready;
    const connection = await driver.acquireConnection();
    try {
      let ended = false;
      let beginFailure: { error: unknown } | undefined;
      const provider: ConnectionProvider = {
        provideConnection: <R>(consume: (connection: DatabaseConnection) => Promise<R>): Promise<R> => {
          if (ended) return Promise.reject(new Error("the transaction has already ended"));
          if (beginFailure) return Promise.reject(beginFailure.error);
          return consume(connection);
        },
      };
      const trx = new Transaction<Schema>({
        config: { dialect },
        dialect,
        driver,
        executor: executor.withConnectionProvider(provider),
      });
      const begun = driver.beginTransaction(connection, {}).then(
        () => true,
        (error: unknown) => {
          beginFailure = { error };
          return false;
        },
      );
      try {
        const result = await work(trx);
        ended = true;
        if (!(await begun)) throw beginFailure?.error;
        await driver.commitTransaction(connection);
        return result;
      } catch (error) {
        ended = true;
        if (await begun) await driver.rollbackTransaction(connection);
        throw error;
      }
    } finally {
      await driver.releaseConnection(connection);
    }
  };
}

/**
 * A statement that PostgreSQL answered with a FATAL error (its backend is gone: terminated by
 * an administrator, a restart, a crash) ends the client at once. The connection's end comes in
 * a moment later; until it does, the client would go back to the pool as usable and fail the
 * next statement it is lent for. An ending client is dropped by the pool instead.
 */
function endWhenFatal(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const result = query(...args);
    if (!(result instanceof Promise)) return result;
    return result.catch((error: unknown) => {
      const severity = (error as { severity?: unknown } | null)?.severity;
      if (severity === "FATAL" || severity === "PANIC") client.end().catch(() => {});
      throw error;
    });
  }) as typeof client.query;
}

/**
 * Statements a connection is given in one turn of the event loop leave in one write. pg writes
 * each statement on its own, one `writev` a statement, and each wakes PostgreSQL's backend,
 * which on a busy machine can take the server's core before the next statement is written. A
 * pipelined batch issues its statements together, in one synchronous run: the socket is corked
 * at the first and uncorked once the run is over (`process.nextTick`, the idiom of Node's stream
 * docs). 20,000 registrations in-process: 2,529 writes against 6,219.
 */
function sendPerTick(client: pg.PoolClient): void {
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
 * Kysely sends every statement unnamed, so PostgreSQL plans it anew each time: a list page's
 * query took 0.6–1.0 ms to plan and 0.4–0.6 ms to run (EXPLAIN ANALYZE, 60,000 deployments).
 * Here a connection prepares a statement by name the second time it runs it, and PostgreSQL
 * keeps its plan for the connection's life (choosing between a plan for the values at hand and
 * a generic one as it does for every prepared statement). Measured: a page query 500 → 410 µs,
 * a registration round's live-primaries read 385 → 235 µs. Bounded per connection; a statement
 * whose plan PostgreSQL can no longer use (a migration changed its table) fails once, then is
 * prepared again under a new name. Statements are remembered, by their text, up to about 1 MB a
 * connection; those that come later are sent unnamed.
 */
function preparePlans(client: pg.PoolClient): void {
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

/** SQLite makes the file but not its folder: say so plainly rather than with an errno. */
function checkFolder(folder: string): void {
  let stats: ReturnType<typeof statSync> | undefined;
  try {
    stats = statSync(folder);
  } catch {
    throw new InputError(`the database folder ${folder} does not exist`);
  }
  if (!stats.isDirectory()) {
    throw new InputError(`the database folder ${folder} is not a folder`);
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return url;
  }
}

/** True when the error is a violated unique constraint, in either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY";
}

/**
 * True when the database refused a value (PostgreSQL's class 22, "data exception": a NUL byte in
 * text, a number out of range). The edges validate against these; this is the last guard, so a
 * value that slips through is the client's 400 rather than the server's 500.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.length === 5 && code.startsWith("22");
}

/**
 * True when the database could not be reached or the connection to it was lost: a request that
 * met this may succeed when tried again, once the database is back (PostgreSQL's class 08,
 * "connection exception", and 57P01–57P03, a server shutting down, crashed or starting; pg's own
 * errors for a lost connection, which carry no code; the socket's).
 */
export function isUnavailable(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === "string") {
    return (
      (code.length === 5 && code.startsWith("08")) ||
      code === "57P01" ||
      code === "57P02" ||
      code === "57P03" ||
      ["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENOTFOUND"].includes(code)
    );
  }
  return (
    typeof message === "string" &&
    (message.startsWith("Connection terminated") ||
      message === "Client has encountered a connection error and is not queryable")
  );
}

/** True when retrying the whole transaction may succeed: lock contention, a lost race. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return (
    code === "SQLITE_BUSY" ||
    code === "SQLITE_BUSY_SNAPSHOT" ||
    code === "40001" || // serialization_failure
    code === "40P01" || // deadlock_detected
    isUniqueViolation(error)
  );
}

/**
 * Serializes writers of each key until the transaction ends. PostgreSQL takes transaction-scoped
 * advisory locks in ascending order of their hashes, in one round trip; SQLite already has a
 * single writer.
 */
export async function lockKeys(trx: Executor, dialect: DialectName, keys: string[]): Promise<void> {
  if (dialect !== "postgres" || keys.length === 0) return;
  await sql`select pg_advisory_xact_lock(h) from (
      select distinct hashtextextended(k, 0) as h from unnest(${[...new Set(keys)]}::text[]) as k order by h
    ) as locks`.execute(trx);
}

/**
 * Runs `work` in a transaction, retrying a few times when it lost a race it can win on retry.
 * The work must be safe to run again: everything it wrote was rolled back.
 */
export async function inTransaction<T>(
  database: Database,
  work: (trx: Transaction<Schema>) => Promise<T>,
  attempts = 5,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await database.transaction(work);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      await new Promise((done) => setTimeout(done, Math.random() * 10 * attempt));
    }
  }
}
