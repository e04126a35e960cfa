import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterEach, beforeEach, inject } from "vitest";
import type { DialectName } from "../../src/store/database.js";
import { type Database, openDatabase } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import { type Stores, storesOf } from "../../src/store/stores.js";
import { POSTGRES_URL } from "./postgres-url.js";

/** A database made for one test (or suite) and dropped after it. */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** The dialects every store and API suite runs on: SQLite always, PostgreSQL when reachable. */
export function dialects(): DialectName[] {
  return inject("postgres") ? ["sqlite", "postgres"] : ["sqlite"];
}

export async function createTestDatabase(dialect: DialectName): Promise<TestDatabase> {
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "tenure-test-"));
    return { url: join(dir, "tenure.db"), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `tenure_test_${process.pid}_${randomBytes(4).toString("hex")}`;
  await adminQuery(`create database ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

/**
 * A database that does not exist yet: a SQLite file in a new folder, or a PostgreSQL database
 * name no one made, in a URL that carries a password (which messages must not show). `exists`
 * tells whether something made it since; `drop` removes whatever was made.
 */
export interface MissingDatabase extends TestDatabase {
  password: string;
  exists(): Promise<boolean>;
}

export function missingTestDatabase(dialect: DialectName): MissingDatabase {
  const password = `pw${randomBytes(6).toString("hex")}`;
  if (dialect === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "tenure-test-"));
    const file = join(dir, "typo.db");
    return {
      url: file,
      password,
      exists: async () => existsSync(file),
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const name = `tenure_missing_${process.pid}_${randomBytes(4).toString("hex")}`;
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  // Trust authentication ignores it; it is there to be kept out of messages.
  url.password = password;
  return {
    url: url.toString(),
    password,
    exists: async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      try {
        return (await client.query("select 1 from pg_database where datname = $1", [name])).rowCount === 1;
      } finally {
        await client.end();
      }
    },
    drop: () => adminQuery(`drop database if exists ${name} with (force)`),
  };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * A fresh, migrated database of the dialect for each test of the suite, dropped after it: call at
 * the top of a `describe`, and read its stores (or the database itself) inside each test.
 */
export function freshStoresEach(dialect: DialectName): { stores(): Stores; database(): Database } {
  let test: TestDatabase | undefined;
  let database: Database | undefined;
  let stores: Stores | undefined;
  beforeEach(async () => {
    test = await createTestDatabase(dialect);
    database = openDatabase(test.url);
    await migrateToLatest(database);
    stores = storesOf(database);
  });
  afterEach(async () => {
    await database?.close();
    await test?.drop();
  });
  const made = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error("the database is made before each test");
    return value;
  };
  return { stores: () => made(stores), database: () => made(database) };
}
