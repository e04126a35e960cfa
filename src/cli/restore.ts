import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import { pagesProgress } from "./backup.js";
import { formatBytes } from "./format.js";
import { configOf, type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption } from "./options.js";
import { progressBar } from "./progress.js";

interface RestoreFlags extends DatabaseFlag {
  force?: boolean;
  json?: boolean;
}

export interface RestoreResult {
  backup: string;
  database: string;
  schema: string;
  pages: number;
  bytes: number;
}

/**
 * `tenure restore FILE`: replaces the SQLite database with a backup, once the backup is seen to
 * be a sound Tenure database at a schema this build knows. The replacement is atomic: the
 * database is either the old one or the whole backup, never a mixture.
 */
export function restoreCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("restore")
      .summary("replace the SQLite database with a backup FILE (PostgreSQL: pg_restore)")
      .argument("<file>", "a file `tenure backup` wrote")
      .option("--force", "replace a database that exists, even one a running server has open")
      .option("--json", "print {backup, database, schema, pages, bytes} as JSON"),
  ).action(async (file: string, flags: RestoreFlags) => {
    const config = await configOf(io);
    const url = flags.database ?? config.databaseUrl;
    const [{ redactUrl }, { knownMigrations }, files, { isFileDatabase }] = await Promise.all([
      import("../store/database.js"),
      import("../store/migrate.js"),
      import("../store/file-backup.js"),
      import("../store/missing-database.js"),
    ]);
    // A database that is not a file of its own is a server's (PostgreSQL): its own tools restore it.
    if (!isFileDatabase(url)) {
      throw new InputError(
        `tenure restore writes SQLite files; restore PostgreSQL with its own tools: ` +
          `pg_restore --clean --if-exists --dbname '${redactUrl(url)}' ${file} (a pg_dump --format=custom file), ` +
          "with every tenure serve stopped",
      );
    }
    const backup = resolve(file);
    if (!existsSync(backup)) throw new InputError(`${file} does not exist`);
    const schema = checkedSchema(file, files.inspectDatabaseFile(backup), knownMigrations());
    const target = resolve(url);
    if (target === backup) throw new InputError("the backup and the database are the same file");
    const inUse = files.databaseFileInUse(target);
    if (existsSync(target) && !flags.force) {
      throw new InputError(
        inUse
          ? `the database ${target} is in use (a tenure serve has it open): stop it, then restore with --force`
          : `the database ${target} exists; --force replaces it with ${file}`,
      );
    }
    if (inUse) {
      io.err(
        `tenure: warning: a running process has ${target} open; restart it, or it goes on writing to the replaced file\n`,
      );
    }
    const progress = await progressBar(io);
    const copied = await files
      .copyDatabaseFile(backup, target, pagesProgress(progress, "restore "))
      .finally(() => progress.stop());
    const result: RestoreResult = {
      backup,
      database: target,
      schema,
      pages: copied.pages,
      bytes: copied.bytes,
    };
    if (flags.json) return printJson(io, result);
    const newest = knownMigrations().at(-1);
    const upgrade = schema === newest ? "" : `; tenure init brings it up to ${newest}`;
    io.out(`restored ${backup} into ${target} (schema ${schema}${upgrade}, ${formatBytes(result.bytes)})\n`);
  });
}

type Inspection = import("../store/file-backup.js").DatabaseFileKind;

/** The backup's schema version, or bad input naming why it cannot be restored. */
function checkedSchema(file: string, inspection: Inspection, known: string[]): string {
  if (inspection.kind === "not-sqlite") {
    throw new InputError(`${file} is not a sound SQLite database (${inspection.reason})`);
  }
  if (inspection.kind === "not-tenure" || inspection.migrations.length === 0) {
    throw new InputError(`${file} is a SQLite database but not a Tenure one (it has no Tenure schema)`);
  }
  const unknown = inspection.migrations.filter((name) => !known.includes(name));
  if (unknown.length > 0) {
    throw new InputError(
      `${file} has schema version ${unknown.sort().at(-1)}, newer than this Tenure knows ` +
        `(${known.at(-1)}); restore it with the Tenure that wrote it`,
    );
  }
  return inspection.migrations.at(-1) ?? "";
}
