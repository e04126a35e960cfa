/**
 * The verdict-write benchmark: what a sweep costs to keep its verdicts on the deployments it
 * judged (ForecastStore.setForecasts and MetricStore.setPerformance, a statement per 1,000 rows),
 * against the peer it replaced: one UPDATE per deployment, as Kysely builds it, on the same
 * database. Every deployment of the fleet is written, in batches of 500 (the sweep's), with values
 * that change each round; the rounds alternate the two, and medians are reported. And what every
 * view pays to read a forecast back (readForecast, a written-out check) against the column's zod
 * schema (parseJsonColumn), over 100,000 stored forecasts.
 *
 *   npm run bench -- verdicts [--count 20000] [--rounds 5] [--dialect sqlite|postgres|both]
 *
 * BENCHMARKS.md, "Batched writes of a sweep's verdicts", holds the figures.
 */
import type { Kysely } from "kysely";
import { openDatabase } from "../dist/store/database.js";
import { parseJsonColumn, readForecast } from "../dist/store/json-columns.js";
import type { Schema } from "../dist/store/schema.js";
import { type Stores, storesOf } from "../dist/store/stores.js";
import { integer, type Options } from "./lib/bench-options.js";
import {
  benchDialects,
  DIALECT_OPTION,
  defineBench,
  POSTGRES_URL_OPTION,
  runFacts,
} from "./lib/bench-run.js";
import { log } from "./lib/log.js";
import { createScratchDatabase } from "./lib/scratch-database.js";
import { median, round } from "./lib/stats.js";
import { seedFleet } from "./lib/sweep-workload.js";

/** Deployments a sweep judges and writes together (Sweeper's batch). */
const BATCH = 500;

const OPTIONS = {
  dialect: DIALECT_OPTION,
  count: { schema: integer(1_000, 1_000_000).default(20_000), value: "N", help: "live deployments written" },
  rounds: { schema: integer(1, 50).default(5), value: "N", help: "rounds of batched + per-row writes" },
  "postgres-url": POSTGRES_URL_OPTION,
};
type Flags = Options<typeof OPTIONS>;

interface Figures {
  batched_ms_median: number;
  per_row_ms_median: number;
  /** Per-row time / batched time. */
  ratio: number;
}

export const verdictsBench = defineBench("verdicts", OPTIONS, async (flags) => {
  const results = await benchDialects("verdicts", flags.dialect, async (dialect, teardown) => {
    const started = Date.now();
    const scratch = teardown.database(await createScratchDatabase(dialect, flags["postgres-url"]));
    await seedFleet(scratch.url, flags.count, Date.now());
    const database = openDatabase(scratch.url, { poolSize: 2 });
    try {
      const figures = await measure(storesOf(database), database.db, flags);
      return {
        dialect,
        deployments: flags.count,
        ...figures,
        reads: timeReads(),
        ...runFacts(started, flags),
      };
    } finally {
      await database.close();
    }
  });
  log("\n== verdicts benchmark: summary ==");
  for (const r of results) {
    log(
      `${r.dialect}, ${r.deployments} deployments: forecasts ${r.forecasts.batched_ms_median} ms batched vs ` +
        `${r.forecasts.per_row_ms_median} ms per row (×${r.forecasts.ratio}); performance ` +
        `${r.performance.batched_ms_median} ms vs ${r.performance.per_row_ms_median} ms (×${r.performance.ratio}); ` +
        `reading 100,000 forecasts back ${r.reads.checked_ms_median} ms checked by hand vs ${r.reads.zod_ms_median} ms by zod (×${r.reads.ratio})`,
    );
  }
});

type Forecast = { id: number; forecast: string | null };
type Performance = { id: number; state: string | null; ok_since: number | null; drop: number | null };

async function measure(stores: Stores, db: Kysely<Schema>, flags: Flags) {
  const ids = (await db.selectFrom("deployments").select("id").orderBy("id").execute()).map((r) => r.id);
  const forecasts = (round: number): Forecast[] =>
    ids.map((id) => ({
      id,
      forecast:
        id % 7 === 0 ? null : `{"reason":"round ${round}: no \\"decay\\" curve yet","computed_at":${round}}`,
    }));
  const performance = (round: number): Performance[] =>
    ids.map((id) => ({
      id,
      state: id % 5 === 0 ? null : "ok",
      ok_since: id % 3 === 0 ? null : 1_790_000_000_000 + id + round,
      drop: id % 4 === 0 ? null : Math.round(((id * 0.37 + round) % 1) * 1e6) / 1e6,
    }));
  const times = {
    forecasts: { batched: [] as number[], perRow: [] as number[] },
    performance: { batched: [] as number[], perRow: [] as number[] },
  };
  for (let r = 0; r < flags.rounds; r++) {
    // Each round writes new values twice: the batched way, then the per-row way (and the next
    // round's values again differ from both), so that every write changes its rows.
    const [fa, fb, pa, pb] = [
      forecasts(2 * r),
      forecasts(2 * r + 1),
      performance(2 * r),
      performance(2 * r + 1),
    ];
    times.forecasts.batched.push(await timed(fa, (batch) => stores.forecasts.setForecasts(batch)));
    if (r === 0) await assertStored(db, fa, (row) => ({ id: row.id, forecast: row.forecast }));
    times.forecasts.perRow.push(
      await timed(fb, async (batch) => {
        for (const u of batch) {
          await db.updateTable("deployments").set({ forecast: u.forecast }).where("id", "=", u.id).execute();
        }
      }),
    );
    times.performance.batched.push(await timed(pa, (batch) => stores.metrics.setPerformance(batch)));
    if (r === 0) {
      await assertStored(db, pa, (row) => ({
        id: row.id,
        state: row.performance_state,
        ok_since: row.performance_ok_since === null ? null : Number(row.performance_ok_since),
        drop: row.performance_drop,
      }));
    }
    times.performance.perRow.push(
      await timed(pb, async (batch) => {
        for (const u of batch) {
          await db
            .updateTable("deployments")
            .set({ performance_state: u.state, performance_ok_since: u.ok_since, performance_drop: u.drop })
            .where("id", "=", u.id)
            .execute();
        }
      }),
    );
    log(
      `  round ${r + 1}: forecasts ${round(times.forecasts.batched.at(-1) ?? 0, 0)} ms batched, ` +
        `${round(times.forecasts.perRow.at(-1) ?? 0, 0)} ms per row; performance ` +
        `${round(times.performance.batched.at(-1) ?? 0, 0)} ms, ${round(times.performance.perRow.at(-1) ?? 0, 0)} ms`,
    );
  }
  return { forecasts: figures(times.forecasts), performance: figures(times.performance) };
}

/** The time to write every update, BATCH at a time. */
async function timed<U>(updates: U[], write: (batch: U[]) => Promise<void>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < updates.length; i += BATCH) await write(updates.slice(i, i + BATCH));
  return performance.now() - started;
}

/** The bench measures right answers only: a write that stored less would look fast. */
async function assertStored<U extends { id: number }>(
  db: Kysely<Schema>,
  updates: U[],
  read: (row: Awaited<ReturnType<typeof readAll>>[number]) => U,
): Promise<void> {
  const stored = new Map((await readAll(db)).map((row) => [row.id, JSON.stringify(read(row))]));
  for (const u of updates) {
    if (stored.get(u.id) !== JSON.stringify(u))
      throw new Error(`deployment ${u.id} was not written as asked`);
  }
}

const readAll = (db: Kysely<Schema>) =>
  db
    .selectFrom("deployments")
    .select(["id", "forecast", "performance_state", "performance_ok_since", "performance_drop"])
    .execute();

function figures(t: { batched: number[]; perRow: number[] }): Figures {
  return {
    batched_ms_median: round(median(t.batched), 1),
    per_row_ms_median: round(median(t.perRow), 1),
    ratio: round(median(t.perRow) / median(t.batched), 1),
  };
}

/**
 * 100,000 stored forecasts (a third of them reasons) read back five times each way, alternating:
 * readForecast against the schema's parse, the path views took before.
 */
function timeReads(): { checked_ms_median: number; zod_ms_median: number; ratio: number } {
  const texts = Array.from({ length: 100_000 }, (_, i) =>
    i % 3 === 0
      ? `{"reason":"fraud-${i} in production has no decay curve yet: 3 judged auc windows","computed_at":${1_790_000_000_000 + i}}`
      : JSON.stringify({
          metric: "auc",
          breach_at: 1_798_761_600_000 + i,
          low_at: 1_798_000_000_000 + i,
          high_at: i % 2 ? null : 1_799_000_000_000,
          slope_per_day: -0.00012 * (i % 7),
          based_on_deployments: 3,
          based_on_windows: 40,
          computed_at: 1_790_000_000_000,
        }),
  );
  const times = { checked: [] as number[], zod: [] as number[] };
  for (let r = 0; r < 5; r++) {
    let started = performance.now();
    for (const text of texts) {
      if ("unreadable" in readForecast(text)) throw new Error(`readForecast refused ${text}`);
    }
    times.checked.push(performance.now() - started);
    started = performance.now();
    for (const text of texts) parseJsonColumn("forecast", text);
    times.zod.push(performance.now() - started);
  }
  return {
    checked_ms_median: round(median(times.checked), 1),
    zod_ms_median: round(median(times.zod), 1),
    ratio: round(median(times.zod) / median(times.checked), 1),
  };
}
