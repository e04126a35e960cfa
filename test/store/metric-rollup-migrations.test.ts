import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database.js";
import { migrateToLatest, migrateUpTo } from "../../src/store/migrate.js";
import { storesOf } from "../../src/store/stores.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";

/*
 * The roll-up migrations sum the points an older Tenure stored: 0015 by UTC day, 0020 by UTC
 * hour. From then on the triggers keep them.
 */

const DAY = 86_400_000;
const HOUR = 3_600_000;
const START_DAY = Date.parse("2026-01-01T00:00:00.000Z") / DAY;
const T = START_DAY * DAY;

/** A deployment and its points, written as a Tenure migrated up to `last` would have. */
async function olderTenure(db: Database, last: string): Promise<number> {
  await migrateUpTo(db, last);
  await db.db.insertInto("models").values({ name: "fraud-gbm", owner_team: "risk", created_at: T }).execute();
  const [{ id }] = (await db.db
    .insertInto("deployments")
    .values({
      model: "fraud-gbm",
      model_version: "1.0.0",
      environment: "production",
      owner_team: "risk",
      role: "primary",
      status: "active",
      deployment_date: T,
      training_data_cutoff: T,
      ended_at: null,
      endpoint: null,
      tags: "{}",
      ttl_extension_seconds: 0,
      created_at: T,
      created_by: "old-tenure",
    })
    .returning("id")
    .execute()) as [{ id: number }];
  const points = [
    { at: T, value: 0.5, n: 2 },
    { at: T + 30 * 60_000, value: 0.75, n: 4 },
    { at: T + 23 * HOUR, value: 1, n: 1 },
    { at: T + DAY, value: 0.25, n: 4 },
    { at: -DAY, value: 7, n: 1 },
  ];
  await db.db
    .insertInto("metric_points")
    .values(
      points.map((p) => ({
        deployment_id: id,
        name: "auc",
        timestamp: p.at,
        value: p.value,
        sample_size: p.n,
        received_at: T,
      })),
    )
    .execute();
  return id;
}

async function dailyRollups(db: Database, id: number) {
  const rows = await db.db
    .selectFrom("metric_rollups")
    .select(["day", "samples", "weighted_sum"])
    .where("deployment_id", "=", id)
    .orderBy("day")
    .execute();
  return rows.map((r) => [Number(r.day), Number(r.samples), Number(r.weighted_sum)]);
}

async function hourlyRollups(db: Database, id: number) {
  const rows = await db.db
    .selectFrom("metric_hourly_rollups")
    .select(["hour", "samples", "weighted_sum"])
    .where("deployment_id", "=", id)
    .orderBy("hour")
    .execute();
  return rows.map((r) => [Number(r.hour), Number(r.samples), Number(r.weighted_sum)]);
}

describe.each(dialects())("the roll-up migrations on %s", (dialect) => {
  let database: TestDatabase;
  let db: Database;
  // A new database for each test: each starts from an older Tenure's schema.
  beforeEach(async () => {
    database = await createTestDatabase(dialect);
  });
  afterEach(async () => {
    await database.drop();
  });

  async function withDatabase(test: () => Promise<void>) {
    db = openDatabase(database.url);
    try {
      await test();
    } finally {
      await db.close();
    }
  }

  it("backfills the roll-ups of the points an older Tenure stored, day by day", async () => {
    await withDatabase(async () => {
      const id = await olderTenure(db, "0014-leases");
      expect((await migrateToLatest(db)).applied).toContain("0015-metric-rollups");
      expect(await dailyRollups(db, id)).toEqual([
        [START_DAY, 7, 5],
        [START_DAY + 1, 4, 1],
      ]);
      // From now on the triggers keep them: a late label for the first day adds to it.
      await storesOf(db).metrics.upsertPoints(
        id,
        [{ name: "auc", value: 1, timestamp: T + HOUR, sample_size: 5 }],
        T,
      );
      expect((await dailyRollups(db, id))[0]).toEqual([START_DAY, 12, 10]);
    });
  });

  it("backfills the hourly roll-ups of the points stored before 0020, and keeps them on from there", async () => {
    await withDatabase(async () => {
      const id = await olderTenure(db, "0019-learned-ttls");
      expect((await migrateToLatest(db)).applied[0]).toBe("0020-hourly-metric-rollups");
      const h = START_DAY * 24;
      // Two points in the first hour, one in the last hour of the day, one the next day; none before 1970.
      expect(await hourlyRollups(db, id)).toEqual([
        [h, 6, 4],
        [h + 23, 1, 1],
        [h + 24, 4, 1],
      ]);
      // A late label for an old hour adds to it; the same point again (a retry) adds nothing; a
      // correction of it adds the difference; the day follows alike.
      const metrics = storesOf(db).metrics;
      const late = { name: "auc", value: 1, timestamp: T + 23 * HOUR + 59 * 60_000, sample_size: 5 };
      await metrics.upsertPoints(id, [late], T);
      await metrics.upsertPoints(id, [late], T);
      expect((await hourlyRollups(db, id))[1]).toEqual([h + 23, 6, 6]);
      await metrics.upsertPoints(id, [{ ...late, value: 0.5, sample_size: 2 }], T);
      expect((await hourlyRollups(db, id))[1]).toEqual([h + 23, 3, 2]);
      expect((await dailyRollups(db, id))[0]).toEqual([START_DAY, 9, 6]);
    });
  });
});
