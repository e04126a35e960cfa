/**
 * The metric roll-up benchmark: what a sweep's metric read costs with the roll-ups, for daily
 * windows (daily roll-ups) and for hourly windows (hourly roll-ups), each against a bare SQL scan
 * of the raw points that answers the same question (the computation before roll-ups), over
 * deployments with a long history of points. It also times writing those points through
 * MetricStore.upsertPoints (whose triggers keep both roll-ups) against the same statements into a
 * copy of the table without triggers: what the roll-ups cost at ingest.
 *
 *   npm run bench -- rollup [--deployments 20] [--days 365] [--points-per-day 24] [--repeats 15] [--dialect sqlite|postgres|both]
 *
 * Reads alternate (roll-up, raw, roll-up, …) so that both see the same load; medians are
 * reported. BENCHMARKS.md, "Metric roll-ups", holds the figures.
 */
import { type Kysely, sql } from "kysely";
import { openDatabase } from "../dist/store/database.js";
import type { Schema } from "../dist/store/schema.js";
import { storesOf } from "../dist/store/stores.js";
import { integer, type Options } from "./lib/bench-options.js";
import {
  benchDialects,
  DIALECT_OPTION,
  defineBench,
  POSTGRES_URL_OPTION,
  runFacts,
} from "./lib/bench-run.js";
import { log } from "./lib/log.js";
import { createScratchDatabase, type Dialect } from "./lib/scratch-database.js";
import { median, round } from "./lib/stats.js";
import { seedFleet } from "./lib/sweep-workload.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The windows timed: a `window: 1d` policy's and a `window: 1h` policy's. */
const WINDOWS = [
  { label: "daily", ms: DAY_MS },
  { label: "hourly", ms: HOUR_MS },
] as const;

const OPTIONS = {
  dialect: DIALECT_OPTION,
  deployments: {
    schema: integer(1, 10_000).default(20),
    value: "N",
    help: "deployments with a history each (one sweep page)",
  },
  days: { schema: integer(2, 3_650).default(365), value: "N", help: "days of history per deployment" },
  "points-per-day": {
    schema: integer(1, 1_440).default(24),
    value: "N",
    help: "points per deployment and day (24: hourly)",
  },
  repeats: { schema: integer(3, 1_000).default(15), value: "N", help: "timed reads of each kind" },
  "postgres-url": POSTGRES_URL_OPTION,
};
type Flags = Options<typeof OPTIONS>;

interface ReadFigures {
  window: "daily" | "hourly";
  deployments: number;
  rollup_ms_median: number;
  raw_ms_median: number;
  /** Raw scan time / roll-up read time. */
  ratio: number;
}

export interface RollupResult {
  dialect: Dialect;
  deployments: number;
  days: number;
  points: number;
  rollup_rows: number;
  hourly_rollup_rows: number;
  ingest: { with_rollups_seconds: number; bare_seconds: number; ratio: number };
  reads: ReadFigures[];
}

interface BarePointsTable {
  deployment_id: number;
  name: string;
  timestamp: number;
  value: number;
  sample_size: number;
  received_at: number;
}

export const rollupBench = defineBench("rollup", OPTIONS, async (flags) => {
  const results = await benchDialects("rollup", flags.dialect, async (dialect, teardown) => {
    const started = Date.now();
    const scratch = teardown.database(await createScratchDatabase(dialect, flags["postgres-url"]));
    const result = await measure(dialect, scratch.url, flags);
    return { ...result, ...runFacts(started, flags) };
  });
  log("\n== rollup benchmark: summary ==");
  for (const r of results) log(formatSummary(r));
});

async function measure(dialect: Dialect, url: string, flags: Flags): Promise<RollupResult> {
  const at = Math.floor(Date.now() / 60_000) * 60_000;
  await seedFleet(url, flags.deployments, at);
  const database = openDatabase(url, { poolSize: 2 });
  try {
    const { db } = database;
    const ids = (await db.selectFrom("deployments").select("id").orderBy("id").execute()).map((r) => r.id);
    const spacing = Math.floor(DAY_MS / flags["points-per-day"]);
    const pointsOf = (id: number) =>
      Array.from({ length: flags.days * flags["points-per-day"] }, (_, j) => {
        const timestamp = at - flags.days * DAY_MS + j * spacing;
        return {
          name: "auc",
          value: 0.8 + ((id * 7919 + j * 104_729) % 1000) / 10_000,
          timestamp,
          sample_size: 100,
        };
      });
    const bare = await createBareTable(database.db, dialect);
    log(
      `  writing ${flags.days} days of ${flags["points-per-day"]} points a day to ${ids.length} deployments…`,
    );
    let withRollups = 0;
    let withoutRollups = 0;
    const metrics = storesOf(database).metrics;
    for (const id of ids) {
      const points = pointsOf(id);
      let started = performance.now();
      await metrics.upsertPoints(id, points, at);
      withRollups += performance.now() - started;
      started = performance.now();
      await insertBare(bare, id, points, at);
      withoutRollups += performance.now() - started;
    }
    const points = ids.length * flags.days * flags["points-per-day"];
    const ingest = {
      with_rollups_seconds: round(withRollups / 1000, 2),
      bare_seconds: round(withoutRollups / 1000, 2),
      ratio: round(withRollups / withoutRollups, 2),
    };
    log(
      `  wrote ${points.toLocaleString("en-US")} points: ${ingest.with_rollups_seconds} s with roll-ups, ` +
        `${ingest.bare_seconds} s into a table without triggers (×${ingest.ratio})`,
    );
    if (dialect === "postgres") await sql`vacuum analyze`.execute(db);
    const count = async (table: "metric_rollups" | "metric_hourly_rollups") =>
      Number(
        (
          await db
            .selectFrom(table)
            .select((eb) => eb.fn.countAll().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const reads: ReadFigures[] = [];
    for (const window of WINDOWS) {
      for (const group of ids.length > 1 ? [ids.slice(0, 1), ids] : [ids]) {
        reads.push(await timeReads(database.db, metrics, window, group, at, flags.repeats));
      }
    }
    return {
      dialect,
      deployments: ids.length,
      days: flags.days,
      points,
      rollup_rows: await count("metric_rollups"),
      hourly_rollup_rows: await count("metric_hourly_rollups"),
      ingest,
      reads,
    };
  } finally {
    await database.close();
  }
}

/** The sweep's read (windows over the whole history) against the bare scan, alternating. */
async function timeReads(
  db: Kysely<Schema>,
  metrics: ReturnType<typeof storesOf>["metrics"],
  window: (typeof WINDOWS)[number],
  ids: number[],
  at: number,
  repeats: number,
): Promise<ReadFigures> {
  const rolled: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < repeats; i++) {
    let started = performance.now();
    const a = await metrics.windowAggregates(ids, "auc", window.ms, at);
    rolled.push(performance.now() - started);
    started = performance.now();
    const b = await rawScan(db, ids, window.ms, at);
    raw.push(performance.now() - started);
    if (i === 0) assertSameSamples(a, b);
  }
  const figures = {
    window: window.label,
    deployments: ids.length,
    rollup_ms_median: round(median(rolled), 2),
    raw_ms_median: round(median(raw), 2),
    ratio: round(median(raw) / median(rolled), 1),
  };
  log(
    `  ${ids.length} deployment(s), ${window.label} windows: roll-ups ${figures.rollup_ms_median} ms, ` +
      `raw scan ${figures.raw_ms_median} ms (median of ${repeats}): ×${figures.ratio}`,
  );
  return figures;
}

/** Every point of the metric, grouped into windows in SQL: what a sweep read before roll-ups. */
async function rawScan(db: Kysely<Schema>, ids: number[], windowMs: number, at: number) {
  const { rows } = await sql<{ deployment_id: number; window_index: number; samples: number }>`
    select deployment_id, timestamp / ${sql.lit(windowMs)} as window_index, sum(sample_size) as samples,
           sum(value * sample_size) as weighted_sum
    from metric_points
    where deployment_id in (${sql.join(ids)}) and name = 'auc' and timestamp >= 0 and timestamp < ${at}
    group by deployment_id, timestamp / ${sql.lit(windowMs)}`.execute(db);
  return rows;
}

/** The bench measures equal answers only: a roll-up that answered less would look fast. */
function assertSameSamples(
  rolled: Map<number, { index: number; samples: number }[]>,
  raw: { deployment_id: number; window_index: number; samples: number }[],
): void {
  const key = (id: number, index: number, samples: number) => `${id} ${index} ${samples}`;
  const a = [...rolled].flatMap(([id, ws]) => ws.map((w) => key(id, w.index, w.samples))).sort();
  const b = raw.map((r) => key(r.deployment_id, Number(r.window_index), Number(r.samples))).sort();
  if (a.join("\n") !== b.join("\n")) throw new Error("the roll-up read and the raw scan disagree");
}

/** metric_points as it was before roll-ups: the same columns and key, no triggers. */
async function createBareTable(db: Kysely<Schema>, dialect: Dialect) {
  const real = dialect === "postgres" ? "double precision" : "real";
  await sql
    .raw(
      `create table bare_points (deployment_id integer not null, name text not null, timestamp bigint not null,
       value ${real} not null, sample_size integer not null, received_at bigint not null,
       primary key (deployment_id, name, timestamp))`,
    )
    .execute(db);
  return db.withTables<{ bare_points: BarePointsTable }>();
}

/** The statements upsertPoints makes (2,000 points each), into the bare table. */
async function insertBare(
  db: Kysely<Schema & { bare_points: BarePointsTable }>,
  id: number,
  points: { name: string; value: number; timestamp: number; sample_size: number }[],
  at: number,
): Promise<void> {
  for (let i = 0; i < points.length; i += 2000) {
    const rows = points.slice(i, i + 2000).map((p) => ({ ...p, deployment_id: id, received_at: at }));
    await db
      .insertInto("bare_points")
      .values(rows)
      .onConflict((oc) =>
        oc.columns(["deployment_id", "name", "timestamp"]).doUpdateSet((eb) => ({
          value: eb.ref("excluded.value"),
          sample_size: eb.ref("excluded.sample_size"),
          received_at: eb.ref("excluded.received_at"),
        })),
      )
      .execute();
  }
}

function formatSummary(r: RollupResult): string {
  const lines = [
    `\n${r.dialect}: ${r.deployments} deployments × ${r.days} days = ${r.points.toLocaleString("en-US")} points, ` +
      `${r.rollup_rows.toLocaleString("en-US")} daily and ${r.hourly_rollup_rows.toLocaleString("en-US")} hourly roll-up rows`,
    `  ingest: ${r.ingest.with_rollups_seconds} s with roll-ups vs ${r.ingest.bare_seconds} s bare (×${r.ingest.ratio})`,
  ];
  for (const read of r.reads) {
    lines.push(
      `  read ${read.window} windows, ${read.deployments} deployment(s): roll-ups ${read.rollup_ms_median} ms vs raw scan ${read.raw_ms_median} ms: raw/roll-up ×${read.ratio}`,
    );
  }
  return lines.join("\n");
}
