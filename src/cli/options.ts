import { type Command, InvalidArgumentError } from "commander";
import { parseDuration } from "../core/duration.js";

export interface DatabaseFlag {
  database?: string;
}

/** Adds `--database PATH_OR_URL`; without it TENURE_DATABASE_URL, then ./tenure.db. */
export function databaseOption(command: Command): Command {
  return command.option(
    "--database <path-or-url>",
    "SQLite file or postgres:// URL (default: $TENURE_DATABASE_URL or ./tenure.db)",
  );
}

/** Parses a positive whole number flag such as `--limit 50`. */
export function positiveInt(name: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from 1 to ${max}`);
    }
    return n;
  };
}

/** Parses a deployment id argument. */
export const deploymentId = positiveInt("ID", 2_147_483_647);

/** Accepts only one of the listed words. */
export function oneOf<T extends string>(name: string, words: readonly T[]) {
  return (value: string): T => {
    if (!(words as readonly string[]).includes(value)) {
      throw new InvalidArgumentError(`${name} must be one of ${words.join(", ")}`);
    }
    return value as T;
  };
}

export interface PoliciesFlag {
  policies?: string;
}

/** Adds `--policies FILE` for commands that judge deployments when they open the database. */
export function policiesOption(command: Command): Command {
  return command.option(
    "--policies <file>",
    "the policy file, without TENURE_URL (default: $TENURE_POLICIES)",
  );
}

/** Parses a duration flag such as `--extend 30d`. */
export function durationFlag(name: string) {
  return (value: string): number => {
    const seconds = parseDuration(value);
    if (seconds === undefined)
      throw new InvalidArgumentError(`${name} must be a duration such as 30d, 36h, 2w`);
    return seconds;
  };
}
