/**
 * The scaling benchmark: what grows as a fleet grows. For each size N×M it writes N live
 * deployments (bench/lib/sweep-workload.ts's fleet) and M metric points spread over them within
 * the last day (a day of metrics at M points a day), then reports every table's rows, bytes and
 * index bytes, and the time of a first and a steady sweep that judges every deployment's metric
 * against a target — on SQLite and on PostgreSQL. The peer is the bulk insert itself: how long
 * writing the rows took, beside how long the sweep takes to read them.
 *
 *   npm run bench -- scaling [--sizes 1000x100000,10000x1000000] [--dialect sqlite|postgres|both]
 *
 * docs/SCALING.md extrapolates from the figures.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sql } from "kysely";
import { z } from "zod";
import { openContext } from "../dist/context.js";
import { openDatabase } from "../dist/store/database.js";
import type { Options } from "./lib/bench-options.js";
import {
  benchDialects,
  DIALECT_OPTION,
  defineBench,
  POSTGRES_URL_OPTION,
  runFacts,
} from "./lib/bench-run.js";
import { log } from "./lib/log.js";
import { processMemory } from "./lib/proc-stats.js";
import { createScratchDatabase, type Dialect } from "./lib/scratch-database.js";
import { round } from "./lib/stats.js";
import { seedFleet } from "./lib/sweep-workload.js";
import { type TableSize, tableSizes } from "./lib/table-sizes.js";
import type { Teardown } from "./lib/teardown.js";

const DAY_MS = 86_400_000;

const Size = z.string().regex(/^\d+x\d+$/, "must be DEPLOYMENTSxPOINTS such as 10000x1000000");
const OPTIONS = {
  dialect: DIALECT_OPTION,
  sizes: {
    schema: z
      .string()
      .default("1000x100000,10000x1000000")
      .transform((text) => text.split(","))
      .pipe(z.array(Size).min(1)),
    value: "NxM,...",
    help: "fleets to measure: N live deployments with M metric points (one day's) each",
  },
  "postgres-url": POSTGRES_URL_OPTION,
};
type Flags = Options<typeof OPTIONS>;

/** Every deployment is judged on one metric, in hourly windows, against a target. */
const POLICIES = `defaults:
  max_age: 180d
  performance: { metric: auc, target: 0.85, window: 1h, min_samples: 1 }
policies: []
`;

export interface ScalingStep {
  deployments: number;
  metric_points: number;
  insert_points_seconds: number;
  points_per_second: number;
  first_sweep_ms: number;
  steady_sweep_ms: number;
  /** Rows each table gained in the two sweeps together. */
  rows_per_two_sweeps: Record<string, number>;
  database_bytes: number;
  tables: TableSize[];
  bench_rss_mb: number;
}

export interface ScalingResult {
  dialect: Dialect;
  steps: ScalingStep[];
}

export const scalingBench = defineBench("scaling", OPTIONS, async (flags) => {
  const results = await benchDialects("scaling", flags.dialect, async (dialect, teardown) => {
    const started = Date.now();
    const result = await benchDialect(dialect, flags, teardown);
    return { ...result, ...runFacts(started, flags) };
  });
  log("\n== scaling benchmark: summary ==");
  for (const r of results) log(formatSummary(r));
});

async function benchDialect(dialect: Dialect, flags: Flags, teardown: Teardown): Promise<ScalingResult> {
  const steps: ScalingStep[] = [];
  for (const size of flags.sizes) {
    const [deployments, points] = size.split("x").map(Number) as [number, number];
    log(
      `\n-- ${deployments.toLocaleString("en-US")} deployments, ${points.toLocaleString("en-US")} metric points --`,
    );
    steps.push(await measure(dialect, deployments, points, flags, teardown));
  }
  return { dialect, steps };
}

async function measure(
  dialect: Dialect,
  deployments: number,
  points: number,
  flags: Flags,
  teardown: Teardown,
): Promise<ScalingStep> {
  const scratch = await createScratchDatabase(dialect, flags["postgres-url"]);
  teardown.database(scratch);
  const at = Math.floor(Date.now() / 60_000) * 60_000;
  await seedFleet(scratch.url, deployments, at);
  const insert = await insertPoints(scratch.url, points, at);
  log(`  wrote ${points.toLocaleString("en-US")} points in ${insert.toFixed(1)} s`);
  const policies = join(scratch.dir, "policies.yaml");
  writeFileSync(policies, POLICIES);
  const before = await sizesOf(scratch.url);
  const context = await openContext(scratch.url, { policies, env: {} });
  const sweepAt = async (when: number) => {
    const started = performance.now();
    await context.lifecycle.sweep({ at: when, trigger: "manual", actor: "bench" });
    return Math.round(performance.now() - started);
  };
  let first: number;
  let steady: number;
  try {
    first = await sweepAt(at);
    log(`  first sweep ${first} ms`);
    // An hour on: a new metric window to judge, and the first sweep's findings already known.
    steady = await sweepAt(at + 3_600_000);
    log(`  steady sweep ${steady} ms`);
  } finally {
    await context.close();
  }
  const tables = await sizesOf(scratch.url);
  const rowsBefore = new Map(before.map((t) => [t.table, t.rows]));
  const grown = Object.fromEntries(
    tables.map((t) => [t.table, t.rows - (rowsBefore.get(t.table) ?? 0)] as const).filter(([, n]) => n !== 0),
  );
  const step: ScalingStep = {
    deployments,
    metric_points: points,
    insert_points_seconds: round(insert, 2),
    points_per_second: Math.round(points / insert),
    first_sweep_ms: first,
    steady_sweep_ms: steady,
    rows_per_two_sweeps: grown,
    database_bytes: tables.reduce((sum, t) => sum + t.table_bytes + t.index_bytes, 0),
    tables,
    bench_rss_mb: round(processMemory(process.pid).rss_mb, 1),
  };
  await scratch.drop();
  return step;
}

async function sizesOf(url: string): Promise<TableSize[]> {
  const database = openDatabase(url, { poolSize: 1 });
  try {
    // PostgreSQL counts a relation's pages as they are; statistics and the free-space map settle
    // after a vacuum, as they would in a server that has run for a while.
    if (database.dialect === "postgres") await sql`vacuum analyze`.execute(database.db);
    return await tableSizes(database);
  } finally {
    await database.close();
  }
}

/**
 * Writes `count` points of `auc` spread evenly over the live deployments, each deployment's at
 * even intervals within the day before `at`, in multi-row inserts in one transaction. Returns
 * the seconds it took.
 */
async function insertPoints(url: string, count: number, at: number): Promise<number> {
  const database = openDatabase(url, { poolSize: 1 });
  const { db } = database;
  try {
    const ids = (await db.selectFrom("deployments").select("id").orderBy("id").execute()).map((r) => r.id);
    const perDeployment = Math.ceil(count / ids.length);
    const spacing = Math.floor(DAY_MS / perDeployment);
    const rowsPerStatement = Math.floor((database.dialect === "sqlite" ? 32_766 : 65_535) / 6);
    const started = performance.now();
    await db.transaction().execute(async (trx) => {
      let batch = [];
      for (let n = 0; n < count; n++) {
        const id = ids[n % ids.length] as number;
        const j = Math.floor(n / ids.length);
        const timestamp = at - DAY_MS + j * spacing;
        batch.push({
          deployment_id: id,
          name: "auc",
          timestamp,
          value: 0.8 + ((n * 7919) % 1000) / 10_000,
          sample_size: 100,
          received_at: timestamp,
        });
        if (batch.length === rowsPerStatement) {
          await trx.insertInto("metric_points").values(batch).execute();
          batch = [];
        }
      }
      if (batch.length > 0) await trx.insertInto("metric_points").values(batch).execute();
    });
    return (performance.now() - started) / 1000;
  } finally {
    await database.close();
  }
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function formatSummary(r: ScalingResult & { build?: string }): string {
  const lines = [`\n${r.dialect}:`];
  for (const s of r.steps) {
    lines.push(
      `  ${s.deployments.toLocaleString("en-US")} deployments, ${s.metric_points.toLocaleString("en-US")} points: ` +
        `database ${mib(s.database_bytes)}; sweep ${s.first_sweep_ms} ms first, ${s.steady_sweep_ms} ms steady; ` +
        `points written at ${s.points_per_second.toLocaleString("en-US")}/s`,
    );
    for (const t of s.tables.filter((t) => t.rows > 0)) {
      lines.push(
        `    ${t.table.padEnd(24)} ${String(t.rows).padStart(9)} rows  table ${mib(t.table_bytes).padStart(10)}  ` +
          `indexes ${mib(t.index_bytes).padStart(10)}  ${t.rows > 0 ? Math.round((t.table_bytes + t.index_bytes) / t.rows) : 0} B/row`,
      );
    }
    lines.push(`    rows written by two sweeps: ${JSON.stringify(s.rows_per_two_sweeps)}`);
  }
  return lines.join("\n");
}
