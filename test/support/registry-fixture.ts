import { afterAll, beforeAll } from "vitest";
import { type Database, type DialectName, openDatabase } from "../../src/store/database.js";
import { migrateToLatest } from "../../src/store/migrate.js";
import type { NewDeploymentRow } from "../../src/store/schema.js";
import { type Stores, storesOf } from "../../src/store/stores.js";
import { createTestDatabase, type TestDatabase } from "./databases.js";

/** When the fixture's models, versions and rows were made. */
export const T0 = Date.UTC(2026, 9, 1, 12, 34, 56, 789);

/**
 * A migrated database for one suite, with these models (team t0, each with version "1"); closed
 * and dropped after it. Its fields are set once the suite's beforeAll ran.
 */
export function registryFor(dialect: DialectName, models: string[]) {
  const registry = {} as { database: Database; stores: Stores; url: string };
  let testDb: TestDatabase;
  beforeAll(async () => {
    testDb = await createTestDatabase(dialect);
    registry.url = testDb.url;
    registry.database = openDatabase(testDb.url);
    await migrateToLatest(registry.database);
    registry.stores = storesOf(registry.database);
    await registry.stores.models.insertModels(
      models.map((name) => ({ name, owner_team: "t0", created_at: T0 })),
    );
    await registry.stores.models.insertVersions(
      models.map((model) => ({ model, model_version: "1", training_data_cutoff: T0 - 1, created_at: T0 })),
    );
  });
  afterAll(async () => {
    await registry.database.close();
    await testDb.drop();
  });
  return registry;
}

/** A live shadow of `model` version "1" in production, deployed at T0; override the rest. */
export function newRow(model: string, row: Partial<NewDeploymentRow> = {}): NewDeploymentRow {
  return {
    model,
    model_version: "1",
    environment: "production",
    owner_team: "t0",
    role: "shadow",
    status: "active",
    deployment_date: T0,
    training_data_cutoff: T0 - 1,
    ended_at: null,
    endpoint: null,
    tags: "{}",
    ttl_extension_seconds: 0,
    created_at: T0,
    created_by: "test",
    ...row,
  };
}
