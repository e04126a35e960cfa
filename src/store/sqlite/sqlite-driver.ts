import { existsSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type SqliteDatabase from "better-sqlite3";
import { Kysely, SqliteDialect, sql } from "kysely";
import { InputError } from "../../core/errors.js";
import type { Database, DialectDriver, OpenOptions } from "../dialect-driver.js";
import type { Schema } from "../schema.js";
import { BACKSTOP_CHECKPOINT_PAGES, type Checkpointer, startCheckpointer } from "./checkpointer.js";
import { DirectSqlite } from "./direct-sqlite.js";
import { immediateTransactions } from "./immediate-transactions.js";
import { cachingStatements, openSqliteHandle } from "./sqlite-connection.js";

/** SQLite through better-sqlite3: one connection, in WAL mode, with one writer at a time. */
export const sqliteDriver: DialectDriver = {
  name: "sqlite",
  traits: { singleWriter: true, pipelined: false, plannerStatistics: false, backgroundReads: false },
  open: openSqlite,
  // SQLite already has a single writer: its transactions are serialized whatever they lock.
  lockKeys: async () => {},
  // Kysely takes no lock on SQLite and runs its DDL outside a transaction. BEGIN IMMEDIATE
  // makes the whole migration one write transaction: two processes opening a new file at once
  // take turns (busy_timeout), and a crash leaves the schema as it was.
  migrating: (database, work) =>
    database.db.connection().execute(async (connection) => {
      await sql`begin immediate`.execute(connection);
      try {
        const result = await work(connection);
        await sql`commit`.execute(connection);
        return result;
      } catch (error) {
        await sql`rollback`.execute(connection).catch(() => {});
        throw error;
      }
    }),
  classifyError(error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "SQLITE_CONSTRAINT_UNIQUE" || code === "SQLITE_CONSTRAINT_PRIMARYKEY") {
      return "unique-violation";
    }
    if (code === "SQLITE_BUSY" || code === "SQLITE_BUSY_SNAPSHOT") return "contention";
    return undefined;
  },
  missing(url) {
    if (url === ":memory:") return undefined;
    const file = resolve(url);
    return existsSync(file) ? undefined : file;
  },
  // An empty file is an empty SQLite database; `wx` leaves one another process made meanwhile.
  async createDatabase(url) {
    if (url === ":memory:") return true;
    const file = resolve(url);
    checkFolder(dirname(file));
    try {
      writeFileSync(file, "", { flag: "wx" });
      return true;
    } catch (error) {
      if ((error as { code?: unknown }).code === "EEXIST") return false;
      throw error;
    }
  },
  // The WAL and the shared-memory index beside the file belong to it: a new file beside an old
  // WAL would be read through it.
  removeDatabase(url) {
    const file = resolve(url);
    for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
  },
};

/**
 * Opens the SQLite file `url` names (created if missing, in a folder that must exist) in WAL
 * mode, or an in-memory database for `:memory:`.
 */
function openSqlite(url: string, options: OpenOptions): Database {
  const file = url === ":memory:" ? url : resolve(url);
  if (file !== ":memory:") checkFolder(dirname(file));
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
    traits: sqliteDriver.traits,
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
