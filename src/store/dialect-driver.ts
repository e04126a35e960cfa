import type { Kysely, Transaction } from "kysely";
import type { Schema } from "./schema.js";
import type { DirectSqlite } from "./sqlite/direct-sqlite.js";

export type DialectName = "sqlite" | "postgres";

/** An open database: the Kysely handle, which dialect it speaks, and how to close it. */
export interface Database {
  db: Kysely<Schema>;
  dialect: DialectName;
  /** What the dialect does well or cannot do, for code that adapts to it (see DialectTraits). */
  traits: DialectTraits;
  /** Where it is, with any password removed: for logs and messages. */
  location: string;
  /** SQLite: the connection's own prepared statements, for stores bound to a transaction. */
  direct?: DirectSqlite;
  /** PostgreSQL: the pool's timeouts in force (null: no query timeout), for start-up logs. */
  timeouts?: { pg_connect_timeout_ms: number; pg_query_timeout_ms: number | null };
  /**
   * Runs `work` in a transaction: PostgreSQL's pipelined (src/store/postgres/), SQLite's
   * immediate (src/store/sqlite/).
   */
  transaction: <T>(work: (trx: Transaction<Schema>) => Promise<T>) => Promise<T>;
  /**
   * Runs `work` on a connection of its own that no query timeout bounds, for work that may
   * rightly take long (migrations: an index built on a large table, another replica's migration
   * waited for). Absent when the dialect sets no query timeout.
   */
  unbounded?: <T>(work: (db: Kysely<Schema>) => Promise<T>) => Promise<T>;
  close(): Promise<void>;
}

export type Executor = Kysely<Schema> | Transaction<Schema>;

export interface OpenOptions {
  /** PostgreSQL: connections in the pool (10). */
  poolSize?: number;
  /**
   * PostgreSQL: run the statements a connection repeats as named prepared statements, whose
   * plans PostgreSQL keeps (on by default; see preparePlans). Off for a pooler that cannot carry
   * them, such as PgBouncer before 1.21 in transaction mode.
   */
  preparedStatements?: boolean;
  /**
   * PostgreSQL: how long to wait for a connection, the pool's queue included, before the
   * statement fails as "unavailable" (5 s): a server that takes the TCP connection and never
   * answers must not hold a request for the operating system's TCP timeouts.
   */
  connectTimeoutMs?: number;
  /**
   * PostgreSQL: how long a statement may wait for its answer before it fails as "unavailable"
   * and its connection is dropped (30 s); null: no limit. Migrations are not bound by it.
   */
  queryTimeoutMs?: number | null;
  /**
   * SQLite: copy the WAL back into the database on a thread of its own rather than in the middle
   * of commits (src/store/sqlite/checkpointer.ts). For a long-running server; a short CLI command
   * would pay more to start the thread than it saves.
   */
  backgroundCheckpoints?: boolean;
  /** Told when background checkpoints failed and commits went back to checkpointing in line. */
  onCheckpointFailure?: (message: string) => void;
}

/** Facts about a dialect that code outside src/store/ adapts to, rather than to its name. */
export interface DialectTraits {
  /** One write transaction at a time, whatever the connections (SQLite). */
  singleWriter: boolean;
  /**
   * A transaction's statements issued together leave together and are answered in a batch
   * (PostgreSQL's pipeline mode); otherwise each is answered as it is issued (SQLite).
   */
  pipelined: boolean;
  /** The planner chooses from statistics that a fast-growing table must refresh (see FreshStatistics). */
  plannerStatistics: boolean;
  /**
   * A read runs on the database's side while JavaScript goes on, so issuing it early overlaps the
   * two (PostgreSQL); otherwise it runs, blocking, as it is issued (SQLite's library call).
   */
  backgroundReads: boolean;
}

/**
 * What a failed statement means for its caller: a violated unique constraint, a value the
 * database refused, the database out of reach, a lost race (lock contention, a serialization
 * failure, a deadlock) that retrying the transaction may win, or a database that does not exist
 * (only its server can tell: PostgreSQL).
 */
export type DatabaseErrorKind =
  | "unique-violation"
  | "data"
  | "unavailable"
  | "contention"
  | "missing-database";

/**
 * One dialect behind src/store/database.ts, as Kysely keeps one folder per database: how to
 * open it, how its transactions lock and migrate, and what its errors mean. Everything
 * dialect-specific lives in src/store/sqlite/ and src/store/postgres/.
 */
export interface DialectDriver {
  readonly name: DialectName;
  readonly traits: DialectTraits;
  /** Opens the database that `url` names (a SQLite file path, a PostgreSQL URL). */
  open(url: string, options: OpenOptions): Database;
  /** Serializes writers of each key until the transaction `trx` ends. */
  lockKeys(trx: Executor, keys: string[]): Promise<void>;
  /**
   * Runs the migrations (`work`) as the dialect keeps them safe from a second process migrating
   * at once, on a server that can run the schema.
   */
  migrating<T>(database: Database, work: (db: Kysely<Schema>) => Promise<T>): Promise<T>;
  /** What `error` means, when it is one of this dialect's errors that callers tell apart. */
  classifyError(error: unknown): DatabaseErrorKind | undefined;
  /**
   * Where the database `url` names would be, when it can be told without connecting that it is
   * not there (a SQLite file); undefined when it is there, or when only its server can tell (a
   * "missing-database" error on connecting).
   */
  missing(url: string): string | undefined;
  /**
   * Creates the database `url` names, empty. Resolves false when it was there already (another
   * process made it meanwhile).
   */
  createDatabase(url: string): Promise<boolean>;
  /**
   * Removes the database `url` names, with the files the dialect keeps beside it. Only for a
   * database that is a file of its own (SQLite): Tenure never drops a server's database.
   */
  removeDatabase?(url: string): void;
}
