import { existsSync } from "node:fs";
import { resolve } from "node:path";
import pg from "pg";
import { InputError } from "../core/errors.js";
import { isPostgresUrl, redactUrl } from "./database.js";

/**
 * The database a command was pointed at does not exist, and this command does not make one: a
 * typo in `--database` must fail a CI gate rather than pass it on an empty database. Bad input
 * for the CLI (exit 2); only `tenure init` (and `serve`, `demo`, `token create` on SQLite)
 * create a database.
 */
export class MissingDatabaseError extends InputError {
  override name = "MissingDatabaseError";
  constructor(readonly location: string) {
    super(`the database ${location} does not exist (tenure init creates it)`);
  }
}

/** The SQLite file `url` names when it is not there yet; undefined for PostgreSQL and `:memory:`. */
export function missingSqliteFile(url: string): string | undefined {
  if (isPostgresUrl(url) || url === ":memory:") return undefined;
  const file = resolve(url);
  return existsSync(file) ? undefined : file;
}

/** PostgreSQL's answer to a connection to a database that does not exist (invalid_catalog_name). */
export function isMissingPostgresDatabase(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === "3D000";
}

/**
 * Creates the database a postgres:// URL names. CREATE DATABASE cannot run in the database it
 * makes, so it runs in the server's maintenance database, `postgres`, with the URL's
 * credentials. Resolves false when the database was there already (another process made it
 * meanwhile).
 */
export async function createPostgresDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (name === "") throw new InputError(`${redactUrl(url)} names no database`);
  const maintenance = new URL(url);
  maintenance.pathname = "/postgres";
  const client = new pg.Client({ connectionString: maintenance.toString() });
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`create database "${name.replaceAll('"', '""')}"`);
    return true;
  } catch (error) {
    // 42P04, duplicate_database: made between our look and our CREATE.
    if ((error as { code?: unknown }).code === "42P04") return false;
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
