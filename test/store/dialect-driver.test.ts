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
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";

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

  it.skipIf(dialect !== "postgres")("a value PostgreSQL refuses is a data error, not retried", async () => {
    const error = await failure(sql`select ${"a\u0000b"}::text`.execute(database.db));
    expect(kinds(error)).toEqual({ unique: false, retryable: false, data: true, unavailable: false });
  });
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

const SRC = join(import.meta.dirname, "../../src");

function sourceFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith(".ts") ? [path] : [];
  });
}

describe("the dialect boundary", () => {
  it("nothing outside src/store/ compares a dialect's name or reaches into a dialect's folder", () => {
    const outside = sourceFiles(SRC).filter((file) => !relative(SRC, file).startsWith("store/"));
    expect(outside.length).toBeGreaterThan(0);
    const branching = outside.flatMap((file) =>
      readFileSync(file, "utf8")
        .split("\n")
        .map((line, i) => ({ where: `${relative(SRC, file)}:${i + 1}`, line }))
        .filter(({ line }) =>
          /dialect\s*[!=]==|["'](sqlite|postgres)["']|from "[./]*store\/(sqlite|postgres)\//.test(line),
        )
        .map(({ where, line }) => `${where}: ${line.trim()}`),
    );
    expect(branching).toEqual([]);
  });
});
