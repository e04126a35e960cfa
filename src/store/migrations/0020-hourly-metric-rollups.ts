import { type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/** A UTC hour in milliseconds: the hourly roll-up's grain. */
export const ROLLUP_HOUR_MS = 3_600_000;

/**
 * Hourly metric roll-ups: per deployment, metric and UTC hour, the sample count and
 * Σ value × sample_size of its points, so that a window of whole hours (a policy's `window: 1h`
 * or `6h`) reads one row an hour of history instead of every point, and a window of whole days
 * reads the hours of its partial days from them (src/store/metric-windows.ts). They are kept
 * exactly as the daily ones of migration 0015 are, by triggers on metric_points that run in the
 * same statement as the points: a new point adds its share to its hour, a replaced one the
 * difference, a DELETE (a prune) leaves them be, and the trigger of 0015 already refuses to move
 * a point to another key, so a point never leaves its hour. Points before the epoch have none.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const real = dialect === "postgres" ? "double precision" : "real";
  await db.schema
    .createTable("metric_hourly_rollups")
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("name", "text", (c) => c.notNull())
    // Hours since the epoch: floor(timestamp / 3,600,000).
    .addColumn("hour", "bigint", (c) => c.notNull())
    .addColumn("samples", "bigint", (c) => c.notNull())
    .addColumn("weighted_sum", sql.raw(real), (c) => c.notNull())
    .addPrimaryKeyConstraint("metric_hourly_rollups_pk", ["deployment_id", "name", "hour"])
    .execute();
  // The triggers come first: on PostgreSQL, creating one locks metric_points against writers
  // until this migration commits, so the backfill below sums a table no one else is changing.
  const statements = dialect === "sqlite" ? SQLITE_TRIGGERS : POSTGRES_TRIGGERS;
  for (const statement of statements) await sql.raw(statement).execute(db);
  await sql`insert into metric_hourly_rollups (deployment_id, name, hour, samples, weighted_sum)
    select deployment_id, name, timestamp / ${sql.lit(ROLLUP_HOUR_MS)}, sum(sample_size), sum(value * sample_size)
    from metric_points where timestamp >= 0
    group by deployment_id, name, timestamp / ${sql.lit(ROLLUP_HOUR_MS)}`.execute(db);
}

const HOUR = `timestamp / ${ROLLUP_HOUR_MS}`;

const ADD_TO_HOUR = `on conflict (deployment_id, name, hour) do update set
  samples = metric_hourly_rollups.samples + excluded.samples,
  weighted_sum = metric_hourly_rollups.weighted_sum + excluded.weighted_sum`;

/** SQLite: row triggers, beside those of the daily roll-ups. */
const SQLITE_TRIGGERS = [
  `create trigger metric_points_hourly_rollup_insert after insert on metric_points when new.timestamp >= 0
   begin
     insert into metric_hourly_rollups (deployment_id, name, hour, samples, weighted_sum)
     values (new.deployment_id, new.name, new.${HOUR}, new.sample_size, new.value * new.sample_size)
     ${ADD_TO_HOUR};
   end`,
  `create trigger metric_points_hourly_rollup_update after update on metric_points when new.timestamp >= 0
   begin
     insert into metric_hourly_rollups (deployment_id, name, hour, samples, weighted_sum)
     values (new.deployment_id, new.name, new.${HOUR}, new.sample_size - old.sample_size,
             new.value * new.sample_size - old.value * old.sample_size)
     ${ADD_TO_HOUR};
   end`,
];

/**
 * PostgreSQL: statement triggers over transition tables, one grouped upsert of the hours a batch
 * touches, in key order so that two batches lock the same hours in the same order.
 */
const POSTGRES_TRIGGERS = [
  `create function metric_points_hourly_rollup_insert() returns trigger language plpgsql as $$
   begin
     insert into metric_hourly_rollups (deployment_id, name, hour, samples, weighted_sum)
     select deployment_id, name, ${HOUR}, sum(sample_size), sum(value * sample_size)
     from inserted where timestamp >= 0
     group by deployment_id, name, ${HOUR}
     order by deployment_id, name, ${HOUR}
     ${ADD_TO_HOUR};
     return null;
   end $$`,
  `create trigger metric_points_hourly_rollup_insert after insert on metric_points
   referencing new table as inserted for each statement execute function metric_points_hourly_rollup_insert()`,
  `create function metric_points_hourly_rollup_update() returns trigger language plpgsql as $$
   begin
     insert into metric_hourly_rollups (deployment_id, name, hour, samples, weighted_sum)
     select n.deployment_id, n.name, n.${HOUR}, sum(n.sample_size - o.sample_size),
            sum(n.value * n.sample_size - o.value * o.sample_size)
     from updated_new n
     join updated_old o using (deployment_id, name, timestamp)
     where n.timestamp >= 0
     group by n.deployment_id, n.name, n.${HOUR}
     order by n.deployment_id, n.name, n.${HOUR}
     ${ADD_TO_HOUR};
     return null;
   end $$`,
  `create trigger metric_points_hourly_rollup_update after update on metric_points
   referencing old table as updated_old new table as updated_new
   for each statement execute function metric_points_hourly_rollup_update()`,
];
