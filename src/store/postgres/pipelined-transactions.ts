import {
  type ConnectionProvider,
  type DatabaseConnection,
  type Driver,
  type Kysely,
  type PostgresDialect,
  PostgresDriver,
  Transaction,
} from "kysely";
import type pg from "pg";
import type { Schema } from "../schema.js";

/**
 * PostgreSQL transactions whose statements are not made to wait for each other. Kysely runs a
 * transaction's statements one at a time: a statement leaves only once the one before it has
 * been answered and Node's event loop has come round to that answer, a round trip each. A
 * registration batch had eleven; here it has three (BEGIN with its locks, reads and ids; its
 * writes; COMMIT), because statements issued together leave together, on a connection in
 * pipeline mode, and PostgreSQL runs them in the order they were sent. What that buys:
 * BENCHMARKS.md, registry session 8. Code that awaits each statement runs exactly as before.
 *
 * What Kysely's own transactions guarantee still holds: a statement issued once the transaction
 * has ended is refused (it would run outside the transaction, or on a connection lent to
 * someone else); a transaction that failed is rolled back, and a connection whose rollback
 * failed is discarded; a COMMIT that PostgreSQL turned into a ROLLBACK is an error. The
 * statements sent with the BEGIN, before its answer came, are reads in practice (a batch's
 * locks and reads); once the BEGIN has failed, nothing more is sent. BEGIN fails only when the
 * connection is lost or its session is unusable, and then so do the statements behind it.
 */
export function pipelinedTransactions(
  db: Kysely<Schema>,
  dialect: PostgresDialect,
  pool: pg.Pool,
): <T>(work: (trx: Transaction<Schema>) => Promise<T>) => Promise<T> {
  // Typed by its interface: it hands out, and takes back, connections of its own class.
  const driver: Driver = new PostgresDriver({ pool });
  const ready = driver.init();
  const executor = db.getExecutor();
  return async (work) => {
    await ready;
    const connection = await driver.acquireConnection();
    try {
      let ended = false;
      let beginFailure: { error: unknown } | undefined;
      const provider: ConnectionProvider = {
        provideConnection: <R>(consume: (connection: DatabaseConnection) => Promise<R>): Promise<R> => {
          if (ended) return Promise.reject(new Error("the transaction has already ended"));
          if (beginFailure) return Promise.reject(beginFailure.error);
          return consume(connection);
        },
      };
      const trx = new Transaction<Schema>({
        config: { dialect },
        dialect,
        driver,
        executor: executor.withConnectionProvider(provider),
      });
      const begun = driver.beginTransaction(connection, {}).then(
        () => true,
        (error: unknown) => {
          beginFailure = { error };
          return false;
        },
      );
      try {
        const result = await work(trx);
        ended = true;
        if (!(await begun)) throw beginFailure?.error;
        await driver.commitTransaction(connection);
        return result;
      } catch (error) {
        ended = true;
        // A rollback on a lost connection fails too ("Client was closed and is not queryable"):
        // the failure that ended the work is what the caller must see (a lost connection is a
        // 503, its rollback's own message would be a 500). PostgreSQL rolls back a transaction
        // whose connection is gone, and the driver marks a connection whose rollback failed to be
        // discarded on release.
        if (await begun) await driver.rollbackTransaction(connection).catch(() => {});
        throw error;
      }
    } finally {
      await driver.releaseConnection(connection);
    }
  };
}
