import { statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import SqliteDatabase from "better-sqlite3";
import {
  Kysely,
  PostgresDialect,
  SqliteDialect,
  type SqliteDialectConfig,
  sql,
  type Transaction,
} from "kysely";
import pg from "pg";
import { InputError } from "../core/errors.js";
import type { Schema } from "./schema.js";

export type DialectName = "sqlite" | "postgres";

/** An open database: the Kysely handle, which dialect it speaks, and how to close it. */
export interface Database {
  db: Kysely<Schema>;
  dialect: DialectName;
  /** Where it is, with any password removed: for logs and messages. */
  location: string;
  close(): Promise<void>;
}

export type Executor = Kysely<Schema> | Transaction<Schema>;

/** PostgreSQL's int8 (bigint) type id: our epoch-millisecond columns, safe as JS numbers. */
const PG_INT8_OID = 20;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//.test(url);
}

/**
 * Opens the database that `url` names: a `postgres://` URL selects PostgreSQL, anything else is
 * a SQLite file path (created with its folder if missing), opened in WAL mode.
 */
export function openDatabase(url: string, options: { poolSize?: number } = {}): Database {
  return isPostgresUrl(url) ? openPostgres(url, options.poolSize ?? 10) : openSqlite(url);
}

function openSqlite(path: string): Database {
  const file = path === ":memory:" ? path : resolve(path);
  if (file !== ":memory:") checkFolder(dirname(file));
  const handle = new SqliteDatabase(file);
  handle.pragma("journal_mode = WAL");
  // NORMAL is durable across application crashes in WAL mode; only an OS crash can lose the
  // last commits, the trade-off SQLite documents for WAL. busy_timeout lets a CLI and a server
  // share one file.
  handle.pragma("synchronous = NORMAL");
  handle.pragma("busy_timeout = 5000");
  handle.pragma("foreign_keys = ON");
  // SQLite's own default page cache (2 MB), not the 16 MB better-sqlite3 builds in: the sweep and
  // the registry read and write in key order, so a larger cache mostly holds pages that will not
  // be read again, and the OS keeps the file's pages warm anyway.
  handle.pragma("cache_size = -2000");
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: cachingStatements(handle) }) });
  return {
    db,
    dialect: "sqlite",
    location: file,
    close: () => db.destroy(),
  };
}

/** Prepared statements kept, by SQL text: enough for every query shape the registry issues. */
const STATEMENT_CACHE_SIZE = 500;
/** A full chunk of alerts (256 rows) stays below this; a statement longer is a one-off. */
const MAX_CACHED_STATEMENT_LENGTH = 64 * 1024;

/**
 * Kysely prepares every query anew; preparing costs as much as running a small statement. The
 * registry issues a few dozen query shapes, so a cache by SQL text makes nearly every
 * preparation a hit. Safe because better-sqlite3 runs each statement to completion at once and
 * nothing here streams rows.
 */
function cachingStatements(handle: SqliteDatabase.Database): SqliteDialectConfig["database"] {
  const statements = new Map<string, DriverStatement>();
  return {
    close: () => handle.close(),
    prepare(text: string) {
      let statement = statements.get(text);
      if (statement) {
        // Re-inserting keeps the map in least-recently-used order.
        statements.delete(text);
      } else {
        statement = rowsAsObjects(handle.prepare(text));
        // A statement longer than any the store writes in chunks is a one-off: caching it would
        // only hold its memory.
        if (text.length > MAX_CACHED_STATEMENT_LENGTH) return statement;
        if (statements.size >= STATEMENT_CACHE_SIZE) {
          const oldest = statements.keys().next().value;
          if (oldest !== undefined) statements.delete(oldest);
        }
      }
      statements.set(text, statement);
      return statement;
    },
  };
}

/** What Kysely's SQLite driver calls on a prepared statement. */
type DriverStatement = Pick<SqliteDatabase.Statement, "reader" | "all" | "run" | "iterate">;

/**
 * better-sqlite3 builds each row object by setting its columns one by one from C++, which costs
 * more than running the query: a page of 100 deployments took ~1 ms to materialise and 14 µs to
 * read. Its raw mode returns arrays at less than half that cost; an object literal compiled once
 * per statement from the column names (quoted with JSON.stringify, so no name can inject code)
 * turns an array into the same row object, with the same later-column-wins rule, at V8's
 * fastest. `__proto__` as a column name would be read as the prototype: such a statement keeps
 * the default path.
 */
function rowsAsObjects(statement: SqliteDatabase.Statement): DriverStatement {
  if (!statement.reader) return statement;
  const names = statement.columns().map((column) => column.name);
  if (names.includes("__proto__")) return statement;
  const fields = names.map((name, i) => `${JSON.stringify(name)}: row[${i}]`).join(", ");
  const build = new Function("row", `return { ${fields} };`) as (row: unknown[]) => unknown;
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

function openPostgres(url: string, poolSize: number): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    types: {
      getTypeParser: ((oid: number, format?: "text" | "binary") =>
        oid === PG_INT8_OID
          ? (value: string) => Number(value)
          : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on("error", () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    dialect: "postgres",
    location: redactUrl(url),
    close: () => db.destroy(),
  };
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
      return await database.db.transaction().execute(work);
    } catch (error) {
      if (attempt >= attempts || !isRetryable(error)) throw error;
      await new Promise((done) => setTimeout(done, Math.random() * 10 * attempt));
    }
  }
}
