import { InputError } from "../core/errors.js";
import { driverFor, errorKind } from "./database.js";

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

/**
 * Where the database `url` names would be, when it can be told without connecting that it is
 * not there (a SQLite file); undefined when it is there or only its server can tell (see
 * isMissingDatabase).
 */
export function missingDatabase(url: string): string | undefined {
  return driverFor(url).missing(url);
}

/** True when connecting failed because the database does not exist, as its server says. */
export function isMissingDatabase(error: unknown): boolean {
  return errorKind(error) === "missing-database";
}

/** Creates the database `url` names, empty; resolves false when it was there already. */
export function createDatabase(url: string): Promise<boolean> {
  return driverFor(url).createDatabase(url);
}

/**
 * True when the database `url` names is a file of its own (SQLite), which removeDatabase can
 * remove; a server's database (PostgreSQL) never is.
 */
export function isFileDatabase(url: string): boolean {
  return driverFor(url).removeDatabase !== undefined;
}

/** Removes the file database `url` names, with what its dialect keeps beside it (see isFileDatabase). */
export function removeDatabase(url: string): void {
  const driver = driverFor(url);
  if (driver.removeDatabase === undefined) throw new Error(`${driver.name} databases are never removed`);
  driver.removeDatabase(url);
}
