import { sql } from "kysely";
import type { DialectName, Executor } from "./database.js";
import type { DeploymentsTable } from "./schema.js";

/** The SQL type of a column a batched update sets (PostgreSQL's array parameter is of this type). */
export type BatchColumnType = "bigint" | "double precision" | "text";

type BatchValue = string | number | null;

/** Rows one statement sets at most: a sweep's page, so that no statement holds its locks for long. */
const ROWS_PER_STATEMENT = 1000;

/**
 * Sets columns of many deployments, each to its own values, in one statement per 1,000 rows
 * rather than one per row: one round trip, and outside a transaction one commit, for a sweep's
 * batch (see BENCHMARKS.md, "Batched writes of a sweep's verdicts"). The rows travel as one
 * parameter per column on PostgreSQL (arrays, unnest) and as one JSON parameter on SQLite
 * (json_each), so the statement's text is the same whatever the row count: prepared once,
 * planned once. `columns` names each column set and its type, the one description both
 * spellings are derived from. SQLite's JSON reads back every double exactly as JSON.stringify
 * wrote it (checked on both dialects by test/store/update-deployments.test.ts); JSON has no NaN
 * or infinity, so SQLite would store those as null (no verdict holds one).
 */
export async function updateDeployments<C extends Exclude<keyof DeploymentsTable, "id">>(
  executor: Executor,
  dialect: DialectName,
  columns: Readonly<Record<C, BatchColumnType>>,
  rows: readonly ({ id: number } & Record<NoInfer<C>, BatchValue>)[],
): Promise<void> {
  const names = Object.keys(columns) as C[];
  const set = sql.join(names.map((name) => sql`${sql.ref(name)} = ${sql.ref(`batch.${name}`)}`));
  for (let start = 0; start < rows.length; start += ROWS_PER_STATEMENT) {
    const slice = rows.slice(start, start + ROWS_PER_STATEMENT);
    const batch =
      dialect === "postgres"
        ? postgresBatch(names, columns, slice)
        : sqliteBatch(
            names,
            slice.map((row) => [row.id, ...names.map((name) => row[name])]),
          );
    await sql`update deployments set ${set} from ${batch} where deployments.id = batch.id`.execute(executor);
  }
}

/** The rows as a relation `batch(id, …columns)`: one array parameter per column, unnested together. */
function postgresBatch<C extends string>(
  names: C[],
  columns: Readonly<Record<C, BatchColumnType>>,
  rows: readonly ({ id: number } & Record<C, BatchValue>)[],
) {
  const arrays = [
    sql`cast(${rows.map((row) => row.id)} as bigint[])`,
    ...names.map((name) => sql`cast(${rows.map((row) => row[name])} as ${sql.raw(columns[name])}[])`),
  ];
  const aliases = sql.join(["id", ...names].map((name) => sql.ref(name)));
  return sql`unnest(${sql.join(arrays)}) as batch(${aliases})`;
}

/** The rows as a relation `batch(id, …columns)`: one JSON array of arrays, read by json_each. */
function sqliteBatch(names: string[], rows: BatchValue[][]) {
  const fields = sql.join(
    ["id", ...names].map((name, i) => sql`value ->> ${sql.lit(i)} as ${sql.ref(name)}`),
  );
  return sql`(select ${fields} from json_each(${JSON.stringify(rows)})) as batch`;
}
