import { Kysely, PostgresDialect, sql } from "kysely";
import type { Database, DialectDriver, OpenOptions } from "../dialect-driver.js";
import type { Schema } from "../schema.js";
import { createPostgresDatabase } from "./create-database.js";
import { pipelinedTransactions } from "./pipelined-transactions.js";
import { classifyPostgresError } from "./postgres-errors.js";
import {
  createPool,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_QUERY_TIMEOUT_MS,
  endPoolWithin,
} from "./postgres-pool.js";
import { redactUrl } from "./redact-url.js";

/** PostgreSQL 13 brought pg_current_snapshot(), which list pages are checked against. */
const MIN_POSTGRES_VERSION = 130_000;

/** PostgreSQL through pg: a pool of pipelined connections. */
export const postgresDriver: DialectDriver = {
  name: "postgres",
  traits: { singleWriter: false, pipelined: true, plannerStatistics: true, backgroundReads: true },
  open: openPostgres,
  /**
   * Transaction-scoped advisory locks, taken in ascending order of their hashes (so two
   * transactions that lock overlapping sets cannot deadlock), in one round trip.
   */
  async lockKeys(trx, keys) {
    if (keys.length === 0) return;
    await sql`select pg_advisory_xact_lock(h) from (
      select distinct hashtextextended(k, 0) as h from unnest(${[...new Set(keys)]}::text[]) as k order by h
    ) as locks`.execute(trx);
  },
  // On PostgreSQL Kysely's migrator runs in one transaction under an advisory lock of its own;
  // what is left is to refuse a server too old for the schema, before anything is changed.
  async migrating(database, work) {
    const { rows } = await sql<{
      version: string;
    }>`select current_setting('server_version_num') as version`.execute(database.db);
    const version = Number(rows[0]?.version);
    if (version < MIN_POSTGRES_VERSION) {
      throw new Error(
        `the PostgreSQL server at ${database.location} is version ${Math.floor(version / 10_000)}; ` +
          "Tenure needs PostgreSQL 13 or later",
      );
    }
    return database.unbounded ? database.unbounded(work) : work(database.db);
  },
  classifyError: classifyPostgresError,
  // Only the server can tell that a database is not there: connecting answers 3D000.
  missing: () => undefined,
  createDatabase: createPostgresDatabase,
};

function openPostgres(url: string, options: OpenOptions): Database {
  const settings = {
    connectionString: url,
    preparedStatements: options.preparedStatements ?? true,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    queryTimeoutMs:
      options.queryTimeoutMs === undefined ? DEFAULT_QUERY_TIMEOUT_MS : (options.queryTimeoutMs ?? 0),
  };
  const pool = createPool({ ...settings, max: options.poolSize ?? 10 });
  const dialect = new PostgresDialect({ pool });
  const db = new Kysely<Schema>({ dialect });
  return {
    db,
    dialect: "postgres",
    traits: postgresDriver.traits,
    location: redactUrl(url),
    timeouts: {
      pg_connect_timeout_ms: settings.connectTimeoutMs,
      pg_query_timeout_ms: settings.queryTimeoutMs === 0 ? null : settings.queryTimeoutMs,
    },
    transaction: pipelinedTransactions(db, dialect, pool),
    // One connection, opened for the work and closed after it, still bound by the connect timeout.
    unbounded:
      settings.queryTimeoutMs === 0
        ? undefined
        : async (work) => {
            const own = new Kysely<Schema>({
              dialect: new PostgresDialect({ pool: createPool({ ...settings, max: 1, queryTimeoutMs: 0 }) }),
            });
            try {
              return await work(own);
            } finally {
              await own.destroy();
            }
          },
    // Bounded: a silent network must not hold a stopping process (docs/RELIABILITY.md).
    close: () => endPoolWithin(pool, () => db.destroy()),
  };
}
