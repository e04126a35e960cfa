import type { Command } from "commander";
import { formatDuration } from "../core/duration.js";
import { InputError } from "../core/errors.js";
import { configOf, type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, durationFlag } from "./options.js";

interface PruneFlags extends DatabaseFlag {
  metricsOlderThan?: number;
  json?: boolean;
}

export interface PruneResult {
  database: string;
  /** Points measured before this instant were deleted. */
  metrics_before: string;
  metric_points_deleted: number;
}

/**
 * `tenure prune --metrics-older-than 400d`: the retention of raw metric points, which nothing
 * else deletes. Their daily and hourly roll-ups stay, so windows of whole hours (`1h`, `6h`, `1d`)
 * stay judgeable over the whole history; other windows (`90m`) are read from the raw points, so
 * for them what is kept bounds what a sweep reads and judges (docs/SCALING.md). Events, the
 * registry's record, are never pruned.
 */
export function pruneCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("prune")
      .summary("delete raw metric points past a retention; roll-ups and events stay")
      .option(
        "--metrics-older-than <duration>",
        "delete metric points measured longer ago than this, e.g. 400d",
        durationFlag("--metrics-older-than"),
      )
      .option("--json", "print {database, metrics_before, metric_points_deleted} as JSON"),
  ).action(async (flags: PruneFlags) => {
    if (flags.metricsOlderThan === undefined) {
      throw new InputError("say what to prune: --metrics-older-than 400d");
    }
    if (flags.metricsOlderThan < 86_400) {
      throw new InputError("--metrics-older-than must be at least 1d: a sweep judges the last day's windows");
    }
    const config = await configOf(io);
    const url = flags.database ?? config.databaseUrl;
    const [{ openDatabase }, { migrateToLatest }, { MissingDatabaseError, missingDatabase }, { storesOf }] =
      await Promise.all([
        import("../store/database.js"),
        import("../store/migrate.js"),
        import("../store/missing-database.js"),
        import("../store/stores.js"),
      ]);
    const missing = missingDatabase(url);
    if (missing !== undefined) throw new MissingDatabaseError(missing);
    const database = openDatabase(url, { preparedStatements: config.preparedStatements });
    try {
      await migrateToLatest(database);
      const before = Date.now() - flags.metricsOlderThan * 1000;
      const deleted = await storesOf(database).metrics.prunePoints(before);
      const result: PruneResult = {
        database: database.location,
        metrics_before: new Date(before).toISOString(),
        metric_points_deleted: deleted,
      };
      if (flags.json) return printJson(io, result);
      io.out(
        `deleted ${deleted.toLocaleString("en-US")} metric points measured before ${result.metrics_before} ` +
          `(older than ${formatDuration(flags.metricsOlderThan)}) from ${result.database}\n`,
      );
    } finally {
      await database.close();
    }
  });
}
