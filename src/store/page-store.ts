import { CompiledQuery } from "kysely";
import { BoundStore } from "./bound-store.js";
import type { Database } from "./database.js";
import { type DeploymentPage, pageQuery, pageShape } from "./page-filter.js";
import { pageSql, readPage } from "./page-json.js";
import type { DeploymentRow } from "./schema.js";
import { SnapshotPages } from "./snapshot-pages.js";

export type { DeploymentFilter, DeploymentPage } from "./page-filter.js";

/** Pages of deployments in age order, filtered, with a cursor: what `GET /v1/deployments` lists. */
export interface PageStore {
  /** A page of deployments: at most `limit`, in age order, after the cursor. */
  listDeployments(page: DeploymentPage): Promise<DeploymentRow[]>;
  /** The statement of a page, for the planners to explain (tests and the registry benchmark). */
  pageQuery(page: DeploymentPage): CompiledQuery;
}

/**
 * Pages read through three tricks, each in one place, each paying for itself on the list
 * benchmark (see BENCHMARKS.md): a statement built once per shape of page (here), the page read as
 * one JSON text (page-json.ts), and a page served again while nothing was committed
 * (snapshot-pages.ts).
 */
export class SqlPageStore extends BoundStore implements PageStore {
  async listDeployments(page: DeploymentPage): Promise<DeploymentRow[]> {
    const { shape, parameters } = pageShape(this.dialect, page);
    const query = pageQueries.get(shape) ?? this.keepPageQuery(shape, page, parameters);
    // Outside a transaction (whose own writes a snapshot would not show), a page read before is
    // served again while nothing has been committed since (SnapshotPages).
    if (this.executor.isTransaction) {
      return (await readPage(this.executor, this.dialect, { ...query, parameters }, page.order)).rows;
    }
    const pages = snapshotPagesOf(this.database);
    const key = `${shape}\u0000${JSON.stringify(parameters)}`;
    const known = pages.get(key);
    let snapshot = known ? await this.snapshot() : undefined;
    if (known && snapshot === known.snapshot) return [...known.rows];
    // SQLite's snapshot is taken before the page, so that a commit in between makes it older than
    // the page, never newer; PostgreSQL's comes with the page, from the statement that read it.
    if (this.dialect === "sqlite") snapshot ??= await this.snapshot();
    const read = await readPage(this.executor, this.dialect, { ...query, parameters }, page.order);
    const readIn = this.dialect === "postgres" ? read.snapshot : snapshot;
    if (readIn !== undefined) pages.set(key, readIn, read.rows);
    return read.rows;
  }

  pageQuery(page: DeploymentPage): CompiledQuery {
    return pageQuery(this.executor, page);
  }

  /**
   * Builds a shape's statement with Kysely and keeps it: building it for every page costs more
   * than it should (see BENCHMARKS.md). Its parameters are checked against the shape's once here.
   */
  private keepPageQuery(shape: string, page: DeploymentPage, parameters: unknown[]): CompiledQuery {
    const compiled = pageQuery(this.executor, page);
    if (!sameValues(compiled.parameters, parameters)) {
      throw new Error(`a page's parameters are not bound in the order pageShape gives (${shape})`);
    }
    const query = { ...compiled, sql: pageSql(this.dialect, compiled.sql) };
    if (pageQueries.size >= MAX_PAGE_SHAPES) pageQueries.clear();
    pageQueries.set(shape, query);
    return query;
  }

  /**
   * What the database's committed state is now, as text that changes whenever anything is
   * committed. PostgreSQL: the statement's snapshot (transactions in progress and the next id).
   * SQLite: PRAGMA data_version, which moves when another connection commits, with this
   * connection's count of changed rows, which moves with its own writes (and with those it rolls
   * back, which only costs a read).
   */
  private async snapshot(): Promise<string | undefined> {
    const { rows } = await this.executor.executeQuery<{ snapshot: string }>(
      this.dialect === "postgres" ? POSTGRES_SNAPSHOT : SQLITE_SNAPSHOT,
    );
    return rows[0]?.snapshot;
  }
}

/** Page statements by shape; a few dozen in practice, bounded anyway. */
const pageQueries = new Map<string, CompiledQuery>();
const MAX_PAGE_SHAPES = 1024;

/** The snapshot a statement reads in, as text (PostgreSQL 13 or later). */
const POSTGRES_SNAPSHOT = CompiledQuery.raw("select pg_current_snapshot()::text as snapshot");
const SQLITE_SNAPSHOT = CompiledQuery.raw(
  "select (select data_version from pragma_data_version) || ':' || total_changes() as snapshot",
);

/** Each database's pages read outside transactions (see SnapshotPages). */
const snapshotPages = new WeakMap<Database, SnapshotPages>();

function snapshotPagesOf(database: Database): SnapshotPages {
  let pages = snapshotPages.get(database);
  if (!pages) {
    pages = new SnapshotPages();
    snapshotPages.set(database, pages);
  }
  return pages;
}

function sameValues(a: readonly unknown[], b: readonly unknown[]): boolean {
  return a.length === b.length && a.every((value, i) => Object.is(value, b[i]));
}
