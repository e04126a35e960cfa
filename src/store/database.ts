/**
 * The dialect-neutral front of the store: it picks the dialect by URL and answers for both.
 * What differs between them lives in src/store/sqlite/ and src/store/postgres/, behind
 * DialectDriver (src/store/dialect-driver.ts).
 */
import type { Transaction } from "kysely";
import type {
  Database,
  DatabaseErrorKind,
  DialectDriver,
  DialectName,
  Executor,
  OpenOptions,
} from "./dialect-driver.js";
import { postgresDriver } from "./postgres/postgres-driver.js";
import type { Schema } from "./schema.js";
import type { DirectSqlite } from "./sqlite/direct-sqlite.js";
import { isOpenTransaction } from "./sqlite/immediate-transactions.js";
import { sqliteDriver } from "./sqlite/sqlite-driver.js";

export type { Database, DialectName, DialectTraits, Executor, OpenOptions } from "./dialect-driver.js";
export { redactUrl } from "./postgres/redact-url.js";

const drivers: Record<DialectName, DialectDriver> = { sqlite: sqliteDriver, postgres: postgresDriver };

/** The driver of the dialect `url` names: a `postgres://` URL is PostgreSQL, anything else a SQLite file path. */
export function driverFor(url: string): DialectDriver {
  return /^postgres(ql)?:\/\//.test(url) ? postgresDriver : sqliteDriver;
}

/**
 * Opens the database that `url` names: a `postgres://` URL selects PostgreSQL, anything else is
 * a SQLite file path (created if missing, in a folder that must exist), opened in WAL mode.
 */
export function openDatabase(url: string, options: OpenOptions = {}): Database {
  return driverFor(url).open(url, options);
}

/** The dialect `name`'s driver: how it locks, migrates and classifies its errors. */
export function driverOf(name: DialectName): DialectDriver {
  return drivers[name];
}

/**
 * SQLite's own prepared statements for a store bound to a transaction (see DirectSqlite): Kysely
 * holds the connection for the transaction, so nothing else can run on it in between. Undefined
 * outside a transaction and on PostgreSQL.
 */
export function directIn(database: Database, executor: Executor): DirectSqlite | undefined {
  return database.direct && isOpenTransaction(executor) ? database.direct : undefined;
}

/** What `error` means, whichever dialect raised it. */
export function errorKind(error: unknown): DatabaseErrorKind | undefined {
  return sqliteDriver.classifyError(error) ?? postgresDriver.classifyError(error);
}

/** True when the error is a violated unique constraint, in either dialect. */
export function isUniqueViolation(error: unknown): boolean {
  return errorKind(error) === "unique-violation";
}

/**
 * True when the database refused a value (a NUL byte in text, a number out of range): the edges
 * validate against these, so a value that slips through is the client's 400, not a 500.
 */
export function isDataError(error: unknown): boolean {
  return errorKind(error) === "data";
}

/**
 * True when the database could not be reached or the connection to it was lost: a request that
 * met this may succeed when tried again, once the database is back.
 */
export function isUnavailable(error: unknown): boolean {
  return errorKind(error) === "unavailable";
}

/** True when retrying the whole transaction may succeed: lock contention, a lost race. */
export function isRetryable(error: unknown): boolean {
  const kind = errorKind(error);
  return kind === "contention" || kind === "unique-violation";
}

/**
 * Serializes writers of each key until the transaction ends: PostgreSQL's advisory locks; SQLite
 * already has a single writer.
 */
export function lockKeys(trx: Executor, dialect: DialectName, keys: string[]): Promise<void> {
  return drivers[dialect].lockKeys(trx, keys);
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
