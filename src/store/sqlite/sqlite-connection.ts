import SqliteDatabase from "better-sqlite3";
import type { DriverStatement } from "./direct-sqlite.js";

/**
 * One SQLite connection as Tenure opens it: its pragmas, its statement cache and how its rows
 * become objects. src/store/sqlite/sqlite-driver.ts puts Kysely in front of it.
 */
export function openSqliteHandle(file: string): SqliteDatabase.Database {
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
  return handle;
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
export class StatementCache<T> {
  private readonly statements = new Map<string, T>();

  constructor(private readonly prepare: (text: string) => T) {}

  get(text: string): T {
    let statement = this.statements.get(text);
    if (statement) {
      // Re-inserting keeps the map in least-recently-used order.
      this.statements.delete(text);
    } else {
      statement = this.prepare(text);
      // A statement longer than any the store writes in chunks is a one-off: caching it would
      // only hold its memory.
      if (text.length > MAX_CACHED_STATEMENT_LENGTH) return statement;
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
    }
    this.statements.set(text, statement);
    return statement;
  }
}

/**
 * Turns a row read as an array (better-sqlite3's raw mode) into the object better-sqlite3 would
 * have built, column by column, later columns winning. Building each object from C++ costs more
 * than running the query (BENCHMARKS.md, registry session 3), so an object literal is compiled
 * once per statement from the column names (quoted with JSON.stringify, so no name can inject
 * code), at V8's fastest. `__proto__` as a column name
 * would set the prototype in a literal (better-sqlite3 itself tries to): such a statement defines
 * each column as a plain property instead.
 */
export function rowBuilder(names: readonly string[]): (row: unknown[]) => Record<string, unknown> {
  if (names.includes("__proto__")) {
    return (row) => {
      const object: Record<string, unknown> = {};
      names.forEach((name, i) => {
        Object.defineProperty(object, name, {
          value: row[i],
          writable: true,
          enumerable: true,
          configurable: true,
        });
      });
      return object;
    };
  }
  const fields = names.map((name, i) => `${JSON.stringify(name)}: row[${i}]`).join(", ");
  return new Function("row", `return { ${fields} };`) as (row: unknown[]) => Record<string, unknown>;
}

/** better-sqlite3 statements, prepared once per SQL text, with rows built by a compiled literal. */
export function cachingStatements(handle: SqliteDatabase.Database): {
  close(): void;
  prepare(text: string): DriverStatement;
} {
  const statements = new StatementCache((text) => rowsAsObjects(handle.prepare(text)));
  return { close: () => handle.close(), prepare: (text: string) => statements.get(text) };
}

/**
 * A reading statement in better-sqlite3's raw mode, its arrays made into row objects by
 * `rowBuilder`: cheaper than better-sqlite3's own objects (BENCHMARKS.md, registry session 3).
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
