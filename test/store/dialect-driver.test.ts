import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Database,
  isDataError,
  isRetryable,
  isUnavailable,
  isUniqueViolation,
  openDatabase,
} from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import {
  createDatabase,
  isFileDatabase,
  isMissingDatabase,
  missingDatabase,
  removeDatabase,
} from "../../src/store/missing-database.js";
import {
  createTestDatabase,
  dialects,
  missingTestDatabase,
  type TestDatabase,
} from "../support/databases.js";

/** What the front's predicates make of an error. */
const kinds = (error: unknown) => ({
  unique: isUniqueViolation(error),
  retryable: isRetryable(error),
  data: isDataError(error),
  unavailable: isUnavailable(error),
});

async function failure(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => expect.fail("the statement should have failed"),
    (error: unknown) => error,
  );
}

// Each dialect classifies its own errors (src/store/sqlite/, src/store/postgres/); the front
// answers for both, whichever raised the error.
describe.each(dialects())("a database's errors, as the store tells them apart (%s)", (dialect) => {
  let testDatabase: TestDatabase;
  let database: Database;
  beforeAll(async () => {
    testDatabase = await createTestDatabase(dialect);
    database = openDatabase(testDatabase.url);
    await sql`create table keys (k text primary key)`.execute(database.db);
  });
  afterAll(async () => {
    await database?.close();
    await testDatabase?.drop();
  });

  it("a violated unique constraint is a unique violation, worth retrying the transaction for", async () => {
    await sql`insert into keys (k) values ('a')`.execute(database.db);
    const error = await failure(sql`insert into keys (k) values ('a')`.execute(database.db));
    expect(kinds(error)).toEqual({ unique: true, retryable: true, data: false, unavailable: false });
  });

  // SQLite stores what PostgreSQL refuses here, so the test exists for PostgreSQL alone rather
  // than as a skipped test on SQLite.
  if (dialect === "postgres") {
    it("a value PostgreSQL refuses is a data error, not retried", async () => {
      const error = await failure(sql`select ${"a\u0000b"}::text`.execute(database.db));
      expect(kinds(error)).toEqual({ unique: false, retryable: false, data: true, unavailable: false });
    });
  }
});

describe("a database out of reach", () => {
  it("is unavailable, not a data error or a lost race", async () => {
    // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    const database = openDatabase("postgres://postgres@127.0.0.1:1/none", { poolSize: 1 });
    try {
      const error = await failure(sql`select 1`.execute(database.db));
      expect(kinds(error)).toEqual({ unique: false, retryable: false, data: false, unavailable: true });
    } finally {
      await database.close();
    }
  });
});

// Whether a database is there and how it is made differ by dialect (a file, or a server's answer
// on connecting); the front answers the same way for both.
describe.each(dialects())("a database that does not exist, through the front (%s)", (dialect) => {
  it("is told missing, is made by createDatabase once and then opens with its schema", async ({
    onTestFinished,
  }) => {
    const missing = missingTestDatabase(dialect);
    onTestFinished(() => missing.drop());
    const seenBeforeConnecting = missingDatabase(missing.url) !== undefined;
    if (!seenBeforeConnecting) {
      const database = openDatabase(missing.url, { poolSize: 1 });
      try {
        expect(isMissingDatabase(await failure(migrateToLatest(database)))).toBe(true);
      } finally {
        await database.close();
      }
    }
    expect(await missing.exists()).toBe(false);
    expect(await createDatabase(missing.url)).toBe(true);
    expect(await missing.exists()).toBe(true);
    expect(missingDatabase(missing.url)).toBeUndefined();
    expect(await createDatabase(missing.url)).toBe(false);
    const database = openDatabase(missing.url, { poolSize: 1 });
    try {
      expect((await migrateToLatest(database)).applied.length).toBeGreaterThan(0);
    } finally {
      await database.close();
    }
  });

  it("is removable only when it is a file of its own, never a server's", async ({ onTestFinished }) => {
    const testDatabase = await createTestDatabase(dialect);
    onTestFinished(() => testDatabase.drop());
    const database = openDatabase(testDatabase.url, { poolSize: 1 });
    await migrateToLatest(database);
    await database.close();
    if (dialect === "sqlite") {
      expect(isFileDatabase(testDatabase.url)).toBe(true);
      removeDatabase(testDatabase.url);
      expect(missingDatabase(testDatabase.url)).toBe(testDatabase.url);
      expect(readdirSync(join(testDatabase.url, ".."))).toEqual([]);
    } else {
      expect(isFileDatabase(testDatabase.url)).toBe(false);
      expect(() => removeDatabase(testDatabase.url)).toThrow();
    }
  });
});

const SRC = join(import.meta.dirname, "../../src");

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("the dialect boundary", () => {
  it("nothing outside src/store/ compares a dialect's name, tells a dialect by its URL, touches SQLite's side files or reaches into a dialect's folder", () => {
    const outside = sourceFiles(SRC).filter((file) => !relative(SRC, file).startsWith("store/"));
    expect(outside.length).toBeGreaterThan(0);
    const branching = outside.flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .map((line, i) => ({ where: `${relative(SRC, file)}:${i + 1}`, line }))
        .filter(({ line }) =>
          /dialect\s*[!=]==|["'](sqlite|postgres)["']|from "[./]*store\/(sqlite|postgres)\/|isPostgresUrl\(|postgres\(ql\)|-wal\b|-shm\b/.test(
            line,
          ),
        )
        .map(({ where, line }) => `${where}: ${line.trim()}`),
    );
    expect(branching).toEqual([]);
  });
});
