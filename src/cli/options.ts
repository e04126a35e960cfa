import { type Command, InvalidArgumentError } from "commander";
import { cidrItems, parseCidr } from "../cidr.js";
import { parseDuration, parseMilliseconds } from "../core/duration.js";
import { parseRate, type Rate } from "../core/rate.js";

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

/** Parses a rate flag such as `--rate-limit 50/s` (or `3000/m`, `100000/h`); `off` is null. */
export function rateFlag(name: string) {
  return (value: string): Rate | null => {
    const rate = parseRate(value);
    if (rate === undefined) {
      throw new InvalidArgumentError(`${name} must be a rate such as 50/s, 3000/m or 100000/h, or off`);
    }
    return rate;
  };
}

/** Parses a timeout flag such as `--upstream-timeout 30s` (or `500ms`, `2m`) into milliseconds. */
export function millisecondsFlag(name: string, maxMs = 3_600_000) {
  return (value: string): number => {
    const ms = parseMilliseconds(value);
    if (ms === undefined || ms > maxMs) {
      throw new InvalidArgumentError(
        `${name} must be a duration such as 30s, 500ms or 2m, at most ${maxMs / 60_000}m`,
      );
    }
    return ms;
  };
}

/**
 * The value of a flag whose parser may answer null (`off`): commander stores a parser's null as
 * "" (it takes null for "no value given"), so it is read back as null here.
 */
export function offOrValue<T>(value: T | "" | undefined): T | null | undefined {
  return value === "" ? null : value;
}

/**
 * A flag that may be `off` (see offOrValue), else what the environment or the default gives:
 * the flag's `off` wins over a variable's limit, as any other value of it would.
 */
export function flagOrElse<T, F>(flag: T | "" | undefined, otherwise: F): T | null | F {
  const value = offOrValue(flag);
  return value === undefined ? otherwise : value;
}

/** Parses a timeout flag that may be turned off (`off`: null, read with offOrValue), as millisecondsFlag otherwise. */
export function timeoutFlag(name: string, maxMs = 3_600_000) {
  const parse = millisecondsFlag(name, maxMs);
  return (value: string): number | null => {
    if (value.trim() === "off") return null;
    try {
      return parse(value);
    } catch {
      throw new InvalidArgumentError(
        `${name} must be a duration such as 30s, 500ms or 2m, at most ${maxMs / 60_000}m, or off`,
      );
    }
  };
}

/** Parses a list of CIDRs such as `--trust-proxy 10.0.0.0/8,127.0.0.1`. */
export function cidrListFlag(name: string) {
  return (value: string): string[] => {
    const items = cidrItems(value);
    if (items.length === 0 || !items.every((item) => parseCidr(item) !== undefined)) {
      throw new InvalidArgumentError(
        `${name} must be a comma-separated list of CIDRs such as 10.0.0.0/8,127.0.0.1/32`,
      );
    }
    return items;
  };
}

const SIZE_UNITS = {
  "": 1,
  b: 1,
  kb: 1_000,
  kib: 1_024,
  mb: 1_000_000,
  mib: 1_048_576,
  gb: 1e9,
  gib: 1_073_741_824,
} as const;

/** Parses a size flag such as `--shadow-max-body 1MiB` (or `512KiB`, `100000`) into bytes. */
export function byteSizeFlag(name: string) {
  return (value: string): number => {
    const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
    const unit = match?.[2]?.toLowerCase() ?? "";
    const bytes =
      match && unit in SIZE_UNITS
        ? Math.round(Number(match[1]) * SIZE_UNITS[unit as keyof typeof SIZE_UNITS])
        : NaN;
    if (!(bytes >= 0 && bytes <= 1_073_741_824)) {
      throw new InvalidArgumentError(
        `${name} must be a size such as 1MiB, 512KiB or 100000 (bytes), at most 1GiB`,
      );
    }
    return bytes;
  };
}

/** Parses a share such as `--shadow-sample 0.1`: a number from 0 to 1. */
export function fractionFlag(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
      throw new InvalidArgumentError(`${name} must be a number from 0 to 1`);
    }
    return n;
  };
}
