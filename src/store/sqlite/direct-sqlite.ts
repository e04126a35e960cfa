import type SqliteDatabase from "better-sqlite3";

/** What Kysely's SQLite driver calls on a prepared statement, and what DirectSqlite runs. */
export type DriverStatement = Pick<SqliteDatabase.Statement, "reader" | "all" | "run" | "iterate">;

type SqlValue = string | number | bigint | null;

/**
 * The SQLite connection's own prepared statements, for the registration round's many small
 * statements inside a transaction Kysely opened (so on the same connection, within its BEGIN and
 * COMMIT). On SQLite a statement costs no round trip, so one small prepared statement per row
 * beats one multi-row statement, and no query is built and compiled per call (BENCHMARKS.md,
 * registry session 5). Only for a store bound to a transaction: outside one, another caller's
 * transaction may be open on the connection.
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
