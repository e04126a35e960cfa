import SqliteDatabase from "better-sqlite3";

/**
 * One SQLite connection as Tenure opens it: its pragmas, its statement cache and how its rows
 * become objects. src/store/database.ts puts Kysely in front of it.
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
 * than running the query (a page of 100 deployments: ~1 ms against 14 µs to read it), so an
 * object literal is compiled once per statement from the column names (quoted with
 * JSON.stringify, so no name can inject code), at V8's fastest. `__proto__` as a column name
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

/** What Kysely's SQLite driver calls on a prepared statement, and what DirectSqlite runs. */
export type DriverStatement = Pick<SqliteDatabase.Statement, "reader" | "all" | "run" | "iterate">;

type SqlValue = string | number | bigint | null;

/**
 * The SQLite connection's own prepared statements, for the registration round's many small
 * statements inside a transaction Kysely opened (so on the same connection, within its BEGIN and
 * COMMIT). On SQLite a statement costs no round trip, so one small prepared statement per row
 * beats one multi-row statement: measured on a registration round of 17, the rows' inserts and
 * reads cost half as much, and no query is built and compiled per call. Only for a store bound
 * to a transaction: outside one, another caller's transaction may be open on the connection.
 */
export class DirectSqlite {
  constructor(private readonly statement: (text: string) => DriverStatement) {}

  /** Runs one reading statement per key and returns all their rows, in the keys' order. */
  allEach<T, K>(text: string, keys: readonly K[], parameters: (key: K) => SqlValue[]): T[] {
    const statement = this.statement(text);
    const rows: T[] = [];
    for (const key of keys) {
      for (const row of statement.all(...parameters(key)) as T[]) rows.push(row);
    }
    return rows;
  }

  /** Runs a statement that returns no rows; how many rows it changed. */
  run(text: string, parameters: SqlValue[]): number {
    return this.statement(text).run(...parameters).changes;
  }

  /**
   * Inserts rows one statement each, all with the columns the first row sets (names from code,
   * never from input; a column left undefined takes its default, as in Kysely), and returns the
   * new rows' ids, in the rows' order, when `returningIds` is set (none otherwise).
   */
  insert<R extends object>(
    table: string,
    rows: readonly R[],
    options: { returningIds?: boolean; onConflict?: string } = {},
  ): number[] {
    const first = rows[0];
    if (!first) return [];
    const columns = Object.keys(first).filter((c) => (first as Record<string, unknown>)[c] !== undefined);
    const text =
      `insert into "${table}" (${columns.map((c) => `"${c}"`).join(", ")}) ` +
      `values (${columns.map(() => "?").join(", ")})` +
      (options.onConflict ? ` on conflict ${options.onConflict}` : "") +
      (options.returningIds ? ' returning "id"' : "");
    const statement = this.statement(text);
    const ids: number[] = [];
    for (const row of rows) {
      const values = columns.map((c) => (row as Record<string, SqlValue>)[c] ?? null);
      if (options.returningIds) {
        for (const stored of statement.all(...values) as { id: number }[]) ids.push(stored.id);
      } else statement.run(...values);
    }
    return ids;
  }
}
