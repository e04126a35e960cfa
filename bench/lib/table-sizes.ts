import { sql } from "kysely";
import type { Database } from "../../dist/store/database.js";

/** One table's rows and bytes on disk: its own pages and those of its indexes. */
export interface TableSize {
  table: string;
  rows: number;
  table_bytes: number;
  index_bytes: number;
  /** Each index's bytes, by name (SQLite's automatic primary-key and unique indexes included). */
  indexes: Record<string, number>;
}

/**
 * Rows and bytes of every table of Tenure's schema, as the database itself counts them: SQLite's
 * dbstat virtual table (pages in use per table and index), PostgreSQL's pg_relation_size per
 * table (with its TOAST) and per index.
 */
export async function tableSizes(database: Database): Promise<TableSize[]> {
  const sizes = database.dialect === "sqlite" ? await sqliteSizes(database) : await postgresSizes(database);
  for (const size of sizes) {
    const { rows } = await sql<{
      n: number | string;
    }>`select count(*) as n from ${sql.table(size.table)}`.execute(database.db);
    size.rows = Number(rows[0]?.n ?? 0);
  }
  return sizes.sort((a, b) => b.table_bytes + b.index_bytes - (a.table_bytes + a.index_bytes));
}

async function sqliteSizes(database: Database): Promise<TableSize[]> {
  const { rows } = await sql<{ name: string; tbl_name: string; type: string; bytes: number | null }>`
    select m.name, m.tbl_name, m.type, (select sum(pgsize) from dbstat d where d.name = m.name) as bytes
    from sqlite_master m
    where m.type in ('table', 'index') and m.tbl_name not like 'sqlite_%' and m.tbl_name not like 'kysely_%'`.execute(
    database.db,
  );
  const byTable = new Map<string, TableSize>();
  const entry = (table: string) => {
    let size = byTable.get(table);
    if (!size) {
      size = { table, rows: 0, table_bytes: 0, index_bytes: 0, indexes: {} };
      byTable.set(table, size);
    }
    return size;
  };
  for (const row of rows) {
    const size = entry(row.tbl_name);
    const bytes = Number(row.bytes ?? 0);
    if (row.type === "table") size.table_bytes += bytes;
    else {
      size.index_bytes += bytes;
      size.indexes[row.name] = bytes;
    }
  }
  return [...byTable.values()];
}

async function postgresSizes(database: Database): Promise<TableSize[]> {
  const { rows } = await sql<{
    table: string;
    index: string | null;
    table_bytes: string;
    index_bytes: string | null;
  }>`
    select c.relname as table, i.relname as index,
      pg_table_size(c.oid) as table_bytes, pg_relation_size(i.oid) as index_bytes
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace and n.nspname = current_schema()
    left join pg_index x on x.indrelid = c.oid
    left join pg_class i on i.oid = x.indexrelid
    where c.relkind = 'r' and c.relname not like 'kysely_%'`.execute(database.db);
  const byTable = new Map<string, TableSize>();
  for (const row of rows) {
    let size = byTable.get(row.table);
    if (!size) {
      size = { table: row.table, rows: 0, table_bytes: Number(row.table_bytes), index_bytes: 0, indexes: {} };
      byTable.set(row.table, size);
    }
    if (row.index) {
      size.index_bytes += Number(row.index_bytes ?? 0);
      size.indexes[row.index] = Number(row.index_bytes ?? 0);
    }
  }
  return [...byTable.values()];
}
