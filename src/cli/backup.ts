import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import type { CopyProgress } from "../store/file-backup.js";
import { formatBytes } from "./format.js";
import { configOf, type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption } from "./options.js";
import { type Progress, progressBar } from "./progress.js";

interface BackupFlags extends DatabaseFlag {
  force?: boolean;
  json?: boolean;
}

export interface BackupResult {
  database: string;
  backup: string;
  pages: number;
  bytes: number;
  seconds: number;
}

/**
 * `tenure backup FILE`: a consistent copy of the SQLite database, taken with SQLite's online
 * backup API, so `tenure serve` may keep writing meanwhile. PostgreSQL has its own tools
 * (pg_dump, continuous archiving): the command names them rather than imitating them.
 */
export function backupCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("backup")
      .summary("copy the SQLite database to FILE while it is in use (PostgreSQL: pg_dump)")
      .argument("<file>", "where the copy goes; refused if it exists, unless --force")
      .option("--force", "replace FILE if it exists")
      .option("--json", "print {database, backup, pages, bytes, seconds} as JSON"),
  ).action(async (file: string, flags: BackupFlags) => {
    const config = await configOf(io);
    const url = flags.database ?? config.databaseUrl;
    const [{ redactUrl }, { MissingDatabaseError, missingDatabase, isFileDatabase }] = await Promise.all([
      import("../store/database.js"),
      import("../store/missing-database.js"),
    ]);
    // A database that is not a file of its own is a server's (PostgreSQL): its own tools copy it.
    if (!isFileDatabase(url)) throw new InputError(postgresBackupAdvice(redactUrl(url), file));
    const missing = missingDatabase(url);
    if (missing !== undefined) throw new MissingDatabaseError(missing);
    const source = resolve(url);
    const target = resolve(file);
    if (source === target)
      throw new InputError("the backup must go to another file than the database itself");
    if (existsSync(target) && !flags.force) {
      throw new InputError(`${file} exists; --force replaces it`);
    }
    const { copyDatabaseFile } = await import("../store/file-backup.js");
    const progress = await progressBar(io);
    const started = performance.now();
    const copied = await copyDatabaseFile(source, target, pagesProgress(progress, "backup  ")).finally(() =>
      progress.stop(),
    );
    const result: BackupResult = {
      database: source,
      backup: target,
      pages: copied.pages,
      bytes: copied.bytes,
      seconds: Math.round(performance.now() - started) / 1000,
    };
    if (flags.json) return printJson(io, result);
    io.out(
      `backed up ${source} to ${target} (${formatBytes(result.bytes)}, ${result.pages} pages, ${result.seconds} s)\n`,
    );
  });
}

/** Moves `progress` over the pages of a copy; the total is known only once the copy has begun. */
export function pagesProgress(progress: Progress, label: string): (copy: CopyProgress) => void {
  let started = false;
  return ({ total_pages, copied_pages }) => {
    if (!started) progress.start(label, Math.max(total_pages, 1));
    started = true;
    progress.setTotal(Math.max(total_pages, 1));
    progress.update(copied_pages);
  };
}

function postgresBackupAdvice(url: string, file: string): string {
  return (
    `tenure backup copies SQLite files; back up PostgreSQL with its own tools: ` +
    `pg_dump --format=custom --file ${file} '${url}' (consistent while tenure serve writes; ` +
    `restore with pg_restore --clean --if-exists --dbname '<url>' ${file}), ` +
    "or continuous archiving (pgBackRest, WAL-G, your provider's snapshots) for point-in-time recovery"
  );
}
