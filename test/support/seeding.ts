import { afterAll, beforeAll } from "vitest";
import { type Context, openContext } from "../../src/context.js";
import type { Actor } from "../../src/registry/actor.js";
import type { DialectName } from "../../src/store/database.js";
import { createTestDatabase, type TestDatabase } from "./databases.js";

export const DAY_MS = 86_400_000;
/** The actor seeding registers as. */
export const SEEDER: Actor = { name: "seed", key_scope: "seed", team: null };

/**
 * A context over a new database of the dialect for the whole suite: call at the top of a
 * `describe`, and read it inside each test. Closed and dropped after the suite.
 */
export function contextForSuite(dialect: DialectName): () => Context {
  let database: TestDatabase | undefined;
  let context: Context | undefined;
  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    context = await openContext(database.url);
  });
  afterAll(async () => {
    await context?.close();
    await database?.drop();
  });
  return () => {
    if (context === undefined) throw new Error("the context is opened before the suite's tests");
    return context;
  };
}

/**
 * Registers `count` live primaries in production, `${prefix}0` … (version 1.0.0, team risk), one
 * after the other, or all at once with `concurrently`, as an import does. Their ids, in order.
 */
export async function registerFleet(
  context: Context,
  count: number,
  options: { prefix?: string; concurrently?: boolean } = {},
): Promise<number[]> {
  const register = async (i: number) => {
    const view = await context.registry.register(
      {
        model: `${options.prefix ?? "model-"}${i}`,
        model_version: "1.0.0",
        environment: "production",
        owner_team: "risk",
        training_data_cutoff: "2026-01-01T00:00:00Z",
        role: "primary",
      },
      SEEDER,
    );
    return view.deployment.id;
  };
  if (options.concurrently) return Promise.all(Array.from({ length: count }, (_, i) => register(i)));
  const ids: number[] = [];
  for (let i = 0; i < count; i++) ids.push(await register(i));
  return ids;
}

/** For every deployment, one point of `auc` 0.9 (sample size 1) at each of `agesDays` days before `now`. */
export async function plantPoints(
  context: Context,
  ids: number[],
  now: number,
  agesDays: number[],
): Promise<void> {
  for (const id of ids) {
    await context.stores.metrics.upsertPoints(
      id,
      agesDays.map((age) => ({ name: "auc", value: 0.9, timestamp: now - age * DAY_MS, sample_size: 1 })),
      now,
    );
  }
}
