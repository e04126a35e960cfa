import { type Database, type DialectName, directIn, type Executor } from "./database.js";

/**
 * What every aggregate's store stands on: the database, and the connection or transaction its
 * statements run on. Stores built on one transaction's executor (see Stores.transaction) share it.
 */
export abstract class BoundStore {
  constructor(
    protected readonly database: Database,
    protected readonly executor: Executor = database.db,
  ) {}

  protected get dialect(): DialectName {
    return this.database.dialect;
  }

  /**
   * SQLite, inside a transaction: the connection's own prepared statements, one per row, for the
   * registration round's reads and writes (see DirectSqlite). Undefined elsewhere: PostgreSQL
   * gains from one multi-row statement per round trip.
   */
  protected get direct(): Database["direct"] {
    return directIn(this.database, this.executor);
  }
}
