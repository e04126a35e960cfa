import { type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/** A UTC day in milliseconds: the roll-up's grain. */
export const ROLLUP_DAY_MS = 86_400_000;

/**
 * Metric roll-ups: per deployment, metric and UTC day, the sample count and Σ value × sample_size
 * of its points, so that a sweep reads one row a day of history instead of every point (see
 * SqlMetricStore.windowAggregates and BENCHMARKS.md). The database keeps them itself, with
 * triggers on metric_points, so that every writer (the API, a bulk load, a restore) keeps them
 * in step in the same statement as the points: a new point adds its share to its day; a point
 * replaced by a retry or a late label adds the difference, which is exactly 0 for a retry. A
 * DELETE leaves them be: pruning raw points keeps the days they summed judgeable. A point's key
 * never changes (an UPDATE that tries is refused), so its day does not either. Points before the
 * epoch are never summed (windows start at 0) and have no roll-up.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  const real = dialect === "postgres" ? "double precision" : "real";
  await db.schema
    .createTable("metric_rollups")
    .addColumn("deployment_id", "integer", (c) => c.notNull().references("deployments.id"))
    .addColumn("name", "text", (c) => c.notNull())
    // Days since the epoch: floor(timestamp / 86,400,000).
    .addColumn("day", "bigint", (c) => c.notNull())
    .addColumn("samples", "bigint", (c) => c.notNull())
    .addColumn("weighted_sum", sql.raw(real), (c) => c.notNull())
    .addPrimaryKeyConstraint("metric_rollups_pk", ["deployment_id", "name", "day"])
    .execute();
  // The triggers come first: on PostgreSQL, creating one locks metric_points against writers
  // until this migration commits, so the backfill below sums a table no one else is changing.
  if (dialect === "sqlite") await sqliteTriggers(db);
  else await postgresTriggers(db);
  await sql`insert into metric_rollups (deployment_id, name, day, samples, weighted_sum)
    select deployment_id, name, timestamp / ${sql.lit(ROLLUP_DAY_MS)}, sum(sample_size), sum(value * sample_size)
    from metric_points where timestamp >= 0
    group by deployment_id, name, timestamp / ${sql.lit(ROLLUP_DAY_MS)}`.execute(db);
}

const ADD_TO_DAY = `on conflict (deployment_id, name, day) do update set
  samples = metric_rollups.samples + excluded.samples,
  weighted_sum = metric_rollups.weighted_sum + excluded.weighted_sum`;

const KEY_CHANGED = `old.deployment_id <> new.deployment_id or old.name <> new.name or old.timestamp <> new.timestamp`;

/** SQLite has row triggers only; they run inside the statement's own program, so they are cheap. */
async function sqliteTriggers(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create trigger metric_points_key_fixed before update on metric_points when ${KEY_CHANGED}
     begin select raise(abort, 'a metric point''s deployment, name and timestamp never change'); end`,
    `create trigger metric_points_rollup_insert after insert on metric_points when new.timestamp >= 0
     begin
       insert into metric_rollups (deployment_id, name, day, samples, weighted_sum)
       values (new.deployment_id, new.name, new.timestamp / ${ROLLUP_DAY_MS}, new.sample_size,
               new.value * new.sample_size)
       ${ADD_TO_DAY};
     end`,
    `create trigger metric_points_rollup_update after update on metric_points when new.timestamp >= 0
     begin
       insert into metric_rollups (deployment_id, name, day, samples, weighted_sum)
       values (new.deployment_id, new.name, new.timestamp / ${ROLLUP_DAY_MS}, new.sample_size - old.sample_size,
               new.value * new.sample_size - old.value * old.sample_size)
       ${ADD_TO_DAY};
     end`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}

/**
 * PostgreSQL: statement triggers over transition tables, so a batch of 10,000 points makes one
 * grouped upsert of the few days it touches rather than 10,000 updates of the same rows. Days are
 * upserted in key order, so two batches that touch the same days lock them in the same order and
 * cannot deadlock on them.
 */
async function postgresTriggers(db: Kysely<unknown>): Promise<void> {
  const statements = [
    `create function metric_points_key_fixed() returns trigger language plpgsql as $$
     begin raise exception 'a metric point''s deployment, name and timestamp never change'; end $$`,
    `create trigger metric_points_key_fixed before update on metric_points
     for each row when (${KEY_CHANGED}) execute function metric_points_key_fixed()`,
    `create function metric_points_rollup_insert() returns trigger language plpgsql as $$
     begin
       insert into metric_rollups (deployment_id, name, day, samples, weighted_sum)
       select deployment_id, name, timestamp / ${ROLLUP_DAY_MS}, sum(sample_size), sum(value * sample_size)
       from inserted where timestamp >= 0
       group by deployment_id, name, timestamp / ${ROLLUP_DAY_MS}
       order by deployment_id, name, timestamp / ${ROLLUP_DAY_MS}
       ${ADD_TO_DAY};
       return null;
     end $$`,
    `create trigger metric_points_rollup_insert after insert on metric_points
     referencing new table as inserted for each statement execute function metric_points_rollup_insert()`,
    `create function metric_points_rollup_update() returns trigger language plpgsql as $$
     begin
       insert into metric_rollups (deployment_id, name, day, samples, weighted_sum)
       select n.deployment_id, n.name, n.timestamp / ${ROLLUP_DAY_MS}, sum(n.sample_size - o.sample_size),
              sum(n.value * n.sample_size - o.value * o.sample_size)
       from updated_new n
       join updated_old o using (deployment_id, name, timestamp)
       where n.timestamp >= 0
       group by n.deployment_id, n.name, n.timestamp / ${ROLLUP_DAY_MS}
       order by n.deployment_id, n.name, n.timestamp / ${ROLLUP_DAY_MS}
       ${ADD_TO_DAY};
       return null;
     end $$`,
    `create trigger metric_points_rollup_update after update on metric_points
     referencing old table as updated_old new table as updated_new
     for each statement execute function metric_points_rollup_update()`,
  ];
  for (const statement of statements) await sql.raw(statement).execute(db);
}
