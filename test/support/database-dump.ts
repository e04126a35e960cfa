import { type Kysely, sql } from "kysely";
import type { Database } from "../../src/store/database.js";

/** Every row of every table, each table's rows as sorted JSON lines: equal dumps mean an unchanged database. */
export type DatabaseDump = Record<string, string[]>;

/**
 * Dumps every table the database holds, found by asking the database (Kysely's introspection:
 * sqlite_master on SQLite, information_schema on PostgreSQL), so a table a later migration adds is
 * covered without anyone remembering to list it here. Kysely's own migration tables are left out:
 * they change only when a migration runs. Rows are sorted so that two dumps of the same rows
 * compare equal whatever order the database returned them in.
 */
export async function dumpDatabase(database: Database): Promise<DatabaseDump> {
  const names = await tableNames(database);
  const dump: DatabaseDump = {};
  // biome-ignore lint/suspicious/noExplicitAny: the tables are found at run time, not typed by the schema.
  const db = database.db as unknown as Kysely<any>;
  for (const name of names) {
    const rows = await db.selectFrom(name).selectAll().execute();
    dump[name] = rows.map((row) => JSON.stringify(row, plain)).sort();
  }
  return dump;
}

const tablesByDatabase = new WeakMap<Database, Promise<string[]>>();

/** The tables, looked up once per database: the schema does not change under a test. */
function tableNames(database: Database): Promise<string[]> {
  let names = tablesByDatabase.get(database);
  if (!names) {
    names = database.db.introspection.getTables().then((tables) =>
      tables
        .filter((t) => !t.isView)
        .map((t) => t.name)
        .sort(),
    );
    tablesByDatabase.set(database, names);
  }
  return names;
}

/** Values JSON does not spell alike on both drivers (bigint, Buffer, Date) made comparable. */
function plain(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Uint8Array) return `bytes:${Buffer.from(value).toString("base64")}`;
  if (
    value !== null &&
    typeof value === "object" &&
    (value as { type?: unknown }).type === "Buffer" &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return `bytes:${Buffer.from((value as { data: number[] }).data).toString("base64")}`;
  }
  return value;
}

/** The tables whose rows differ between two dumps, each with a count of rows gone and rows new. */
export function dumpDifference(before: DatabaseDump, after: DatabaseDump): string[] {
  const differences: string[] = [];
  for (const table of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const was = new Set(before[table] ?? []);
    const is = new Set(after[table] ?? []);
    const gone = [...was].filter((row) => !is.has(row));
    const added = [...is].filter((row) => !was.has(row));
    if (gone.length > 0 || added.length > 0) {
      differences.push(
        `${table}: ${gone.length} rows gone, ${added.length} new (${short(added[0] ?? gone[0])})`,
      );
    }
  }
  return differences;
}

function short(row: string | undefined): string {
  return row === undefined ? "" : row.length > 200 ? `${row.slice(0, 200)}…` : row;
}

/** How many rows the database holds in all: a cheap check that a dump saw the data at all. */
export async function rowCount(database: Database): Promise<number> {
  const names = await tableNames(database);
  let total = 0;
  for (const name of names) {
    const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(name)}`.execute(
      database.db,
    );
    total += Number(rows[0]?.n ?? 0);
  }
  return total;
}
