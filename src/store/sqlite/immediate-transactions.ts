import {
  CompiledQuery,
  type ConnectionProvider,
  type Kysely,
  SingleConnectionProvider,
  type SqliteDialect,
  Transaction,
} from "kysely";
import type { Executor } from "../dialect-driver.js";
import type { Schema } from "../schema.js";

/** The SQLite transactions under way: the only ones that run statements, on DirectSqlite or Kysely. */
const openTransactions = new WeakSet<Executor>();

/**
 * True while `executor` is a SQLite transaction under way. A store kept past its transaction's
 * end must not write on the connection outside it: it falls back to Kysely, which refuses a
 * transaction that has ended.
 */
export function isOpenTransaction(executor: Executor): boolean {
  return openTransactions.has(executor);
}

/**
 * SQLite transactions that take the write lock at BEGIN (BEGIN IMMEDIATE), where Kysely's BEGIN
 * defers it to the first write. A deferred transaction that has read and then writes while
 * another process (a CLI beside the server, say) holds the lock is answered SQLITE_BUSY at once,
 * without waiting: waiting could not help, its reads would be stale. Its retries, moments
 * apart, met the same lock under load, and three CLI commands registering at once failed now
 * and then. Asked at BEGIN, the lock is waited for (busy_timeout) like any other. SQLite has one
 * writer whatever the transaction does, and readers never wait for it (WAL).
 */
export function immediateTransactions(
  db: Kysely<Schema>,
  dialect: SqliteDialect,
): <T>(work: (trx: Transaction<Schema>) => Promise<T>) => Promise<T> {
  const executor = db.getExecutor();
  // A Transaction never reaches for its driver: it only carries it.
  const driver = dialect.createDriver();
  return (work) =>
    executor.provideConnection(async (connection) => {
      // One statement at a time, and none once the transaction has ended: it would run outside
      // it, on a connection no longer this transaction's.
      const single = new SingleConnectionProvider(connection);
      const provider: ConnectionProvider = {
        provideConnection: (consume) =>
          openTransactions.has(trx)
            ? single.provideConnection(consume)
            : Promise.reject(new Error("the transaction has already ended")),
      };
      const trx = new Transaction<Schema>({
        config: { dialect },
        dialect,
        driver,
        executor: executor.withConnectionProvider(provider),
      });
      await connection.executeQuery(CompiledQuery.raw("begin immediate"));
      openTransactions.add(trx);
      try {
        const result = await work(trx);
        openTransactions.delete(trx);
        await connection.executeQuery(CompiledQuery.raw("commit"));
        return result;
      } catch (error) {
        openTransactions.delete(trx);
        // SQLite may have rolled back already (a full disk, an interrupt): nothing to undo then.
        await connection.executeQuery(CompiledQuery.raw("rollback")).catch(() => {});
        throw error;
      }
    });
}
