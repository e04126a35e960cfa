import { sql } from "kysely";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { type Database, isUnavailable, openDatabase } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { pollUntil } from "../support/process.js";

/** The session-level advisory lock Kysely's migrator takes on PostgreSQL (its PostgresAdapter). */
const MIGRATION_LOCK = "3853314791062309107";
const QUERY_TIMEOUT_MS = 300;

// The query timeout bounds what requests run, not migrations: a replica that starts while
// another migrates waits for it (Kysely's lock waits up to an hour), and an index built on a
// large table may take minutes.
describe.runIf(dialects().includes("postgres"))("PostgreSQL's query timeout", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function fixture() {
    const test: TestDatabase = await createTestDatabase("postgres");
    cleanups.push(() => test.drop());
    const first = openDatabase(test.url);
    await migrateToLatest(first);
    await first.close();
    const database: Database = openDatabase(test.url, { queryTimeoutMs: QUERY_TIMEOUT_MS });
    cleanups.push(() => database.close());
    const admin = new pg.Client({ connectionString: test.url });
    await admin.connect();
    cleanups.push(() => admin.end());
    /** Resolves once a backend other than the admin's waits for an advisory lock. */
    const someoneWaits = () =>
      pollUntil("a backend waiting for the migration lock", async () => {
        await admin.query("select pg_stat_clear_snapshot()");
        const { rows } = await admin.query(
          `select pid from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid()
              and wait_event_type = 'Lock' and wait_event = 'advisory'`,
        );
        return rows.length > 0 ? true : undefined;
      });
    return { database, admin, someoneWaits };
  }

  it("fails a statement that waits past it as 'the database is out of reach', and the pool goes on", async () => {
    const { database, admin, someoneWaits } = await fixture();
    await admin.query(`select pg_advisory_lock(${MIGRATION_LOCK})`);
    const waiting = sql`select pg_advisory_xact_lock(${sql.lit(MIGRATION_LOCK)})`.execute(database.db).then(
      () => undefined,
      (error: unknown) => error,
    );
    await someoneWaits();
    const error = await waiting;
    expect(error, "the statement failed").toBeInstanceOf(Error);
    expect(isUnavailable(error), String(error)).toBe(true);
    await admin.query(`select pg_advisory_unlock(${MIGRATION_LOCK})`);
    // The connection that timed out was dropped; the next statement gets a working one.
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(database.db);
    expect(rows).toEqual([{ one: 1 }]);
  });

  it("does not bound migrations: one that waits for another's lock longer than the timeout completes", async () => {
    const { database, admin, someoneWaits } = await fixture();
    await admin.query(`select pg_advisory_lock(${MIGRATION_LOCK})`);
    const migrating = migrateToLatest(database);
    await someoneWaits();
    // Held for three timeouts after the migration began to wait: a bounded wait would have failed.
    await new Promise((done) => setTimeout(done, 3 * QUERY_TIMEOUT_MS));
    await admin.query(`select pg_advisory_unlock(${MIGRATION_LOCK})`);
    await expect(migrating).resolves.toMatchObject({ applied: [] });
  });
});
