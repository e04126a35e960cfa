import {
  DEFAULT_MIGRATION_TABLE,
  type Kysely,
  type Migration,
  type MigrationProvider,
  Migrator,
  sql,
} from "kysely";
import { type Database, type DialectName, driverOf } from "./database.js";
import * as registry from "./migrations/0001-registry.js";
import * as lifecycle from "./migrations/0002-lifecycle.js";
import * as monitoring from "./migrations/0003-monitoring.js";
import * as modelEvents from "./migrations/0004-model-events.js";
import * as modelLive from "./migrations/0005-model-live-index.js";
import * as gatewayRoutes from "./migrations/0006-gateway-routes.js";
import * as traffic from "./migrations/0007-traffic.js";
import * as shadow from "./migrations/0008-shadow.js";
import * as canary from "./migrations/0009-canary.js";
import * as canaryLabels from "./migrations/0010-canary-labels.js";
import * as webhookReceipts from "./migrations/0011-webhook-receipts.js";
import * as tokenExpiry from "./migrations/0012-token-expiry.js";
import * as auditLog from "./migrations/0013-audit-log.js";
import * as leases from "./migrations/0014-leases.js";
import * as metricRollups from "./migrations/0015-metric-rollups.js";
import * as forecasts from "./migrations/0016-forecasts.js";
import * as reportDigests from "./migrations/0018-report-digests.js";
import * as learnedTtls from "./migrations/0019-learned-ttls.js";
import * as hourlyMetricRollups from "./migrations/0020-hourly-metric-rollups.js";
import * as announcedTtls from "./migrations/0021-announced-ttls.js";
import type { Schema } from "./schema.js";

/** Thrown when the database was migrated by a newer Tenure than this one. */
export class SchemaTooNewError extends Error {
  override name = "SchemaTooNewError";
}

/** Every migration this build knows, in order. Names sort in the order they apply. */
function migrations(dialect: DialectName): Record<string, Migration> {
  return {
    "0001-registry": { up: (db) => registry.up(db, dialect) },
    "0002-lifecycle": { up: (db) => lifecycle.up(db, dialect) },
    "0003-monitoring": { up: (db) => monitoring.up(db, dialect) },
    "0004-model-events": { up: (db) => modelEvents.up(db) },
    "0005-model-live-index": { up: (db) => modelLive.up(db) },
    "0006-gateway-routes": { up: (db) => gatewayRoutes.up(db, dialect) },
    "0007-traffic": { up: (db) => traffic.up(db, dialect) },
    "0008-shadow": { up: (db) => shadow.up(db, dialect) },
    "0009-canary": { up: (db) => canary.up(db, dialect) },
    "0010-canary-labels": { up: (db) => canaryLabels.up(db, dialect) },
    "0011-webhook-receipts": { up: (db) => webhookReceipts.up(db, dialect) },
    "0012-token-expiry": { up: (db) => tokenExpiry.up(db) },
    "0013-audit-log": { up: (db) => auditLog.up(db, dialect) },
    "0014-leases": { up: (db) => leases.up(db, dialect) },
    "0015-metric-rollups": { up: (db) => metricRollups.up(db, dialect) },
    "0016-forecasts": { up: (db) => forecasts.up(db) },
    "0018-report-digests": { up: (db) => reportDigests.up(db, dialect) },
    "0019-learned-ttls": { up: (db) => learnedTtls.up(db, dialect) },
    "0020-hourly-metric-rollups": { up: (db) => hourlyMetricRollups.up(db, dialect) },
    "0021-announced-ttls": { up: (db) => announcedTtls.up(db) },
  };
}

/** The names of every migration this build knows, in the order they apply (the same in both dialects). */
export function knownMigrations(): string[] {
  return Object.keys(migrations("sqlite"));
}

export interface MigrationReport {
  applied: string[];
  current: string | undefined;
}

/**
 * Brings the schema to this build's latest version. Refuses, without touching anything, a
 * database that has migrations this build does not know: an older binary must not write to a
 * schema it does not understand.
 */
export async function migrateToLatest(database: Database): Promise<MigrationReport> {
  return migrateUpTo(database);
}

/**
 * Applies the migrations up to `last` (by default all), as `migrateToLatest` does: a database
 * as an older Tenure left it, which the tests of an upgrade start from.
 */
export async function migrateUpTo(database: Database, last?: string): Promise<MigrationReport> {
  return driverOf(database.dialect).migrating(database, (db) => migrate(database, db, last));
}

async function migrate(database: Database, db: Kysely<Schema>, last?: string): Promise<MigrationReport> {
  const known = migrations(database.dialect);
  const newest = Object.keys(known).at(-1);
  const unknown = (await appliedMigrations(db)).filter((name) => !(name in known));
  if (unknown.length > 0) {
    throw new SchemaTooNewError(
      `the database at ${database.location} has schema version ${unknown.sort().at(-1)}, newer than ` +
        `this Tenure knows (${newest}); upgrade Tenure to use it`,
    );
  }
  const provider: MigrationProvider = { getMigrations: async () => known };
  const migrator = new Migrator({ db, provider });
  if (last !== undefined && !(last in known)) throw new Error(`no migration is named ${last}`);
  const { error, results } = await (last === undefined
    ? migrator.migrateToLatest()
    : migrator.migrateTo(last));
  if (error) throw error;
  const applied = (results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName);
  return { applied, current: newest };
}

async function appliedMigrations(db: Kysely<Schema>): Promise<string[]> {
  const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
  if (!tables.some((t) => t.name === DEFAULT_MIGRATION_TABLE)) return [];
  const rows = await sql<{ name: string }>`select name from ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(
    db,
  );
  return rows.rows.map((r) => r.name);
}
