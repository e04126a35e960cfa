import type { Command } from "commander";
import { configOf, type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption } from "./options.js";

interface InitFlags extends DatabaseFlag {
  json?: boolean;
}

export interface InitResult {
  /** Where, with any password removed. */
  database: string;
  created: boolean;
  applied: string[];
  schema: string | null;
}

/**
 * `tenure init`: makes the database (a SQLite file, or a PostgreSQL database on its server) and
 * brings its schema up to date. The commands that read or change a registry refuse a database
 * that does not exist, so that a typo in `--database` fails rather than answers from an empty one.
 */
export function initCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("init")
      .summary("create the database and bring its schema up to date")
      .option("--json", "print {database, created, applied, schema} as JSON"),
  ).action(async (flags: InitFlags) => {
    const config = await configOf(io);
    const result = await initDatabase(flags.database ?? config.databaseUrl, config.preparedStatements);
    if (flags.json) return printJson(io, result);
    const schema = `schema ${result.schema ?? "empty"}`;
    if (result.created) io.out(`created the database ${result.database} (${schema})\n`);
    else if (result.applied.length > 0)
      io.out(`migrated the database ${result.database}: applied ${result.applied.join(", ")} (${schema})\n`);
    else io.out(`the database ${result.database} is already up to date (${schema})\n`);
  });
}

async function initDatabase(url: string, preparedStatements: boolean): Promise<InitResult> {
  // Loaded here: `tenure --help` need not load the database drivers.
  const [{ openDatabase }, { migrateToLatest }, missing] = await Promise.all([
    import("../store/database.js"),
    import("../store/migrate.js"),
    import("../store/missing-database.js"),
  ]);
  // A database that is seen to be missing without connecting (a SQLite file) is made first; one
  // only its server can say is missing (PostgreSQL) is made when connecting to it says so.
  let created = missing.missingDatabase(url) !== undefined && (await missing.createDatabase(url));
  let askedToCreate = false;
  for (;;) {
    const database = openDatabase(url, { preparedStatements });
    try {
      const report = await migrateToLatest(database);
      return {
        database: database.location,
        created,
        applied: report.applied,
        schema: report.current ?? null,
      };
    } catch (error) {
      if (askedToCreate || !missing.isMissingDatabase(error)) throw error;
    } finally {
      await database.close();
    }
    askedToCreate = true;
    created = await missing.createDatabase(url);
  }
}
