/**
 * The sweep process of the sweep benchmark, started by bench/sweep.ts on a seeded database so
 * that its RSS is the sweep's alone. It opens a Tenure context, then runs in each round a bare
 * scan of the live deployments (the floor), a steady-state sweep, a scan that also parses tags,
 * and a replay of the sweep's read-only steps, each timed on its own; it writes everything to
 * the --out file.
 *
 *   node --import tsx bench/lib/sweep-child.ts --database URL --policies FILE --at MS --rounds N --out FILE
 */
import { readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { CompiledQuery, sql } from "kysely";
import { z } from "zod";
import { boundHeapGrowth } from "../../dist/cli/heap.js";
import { configFrom } from "../../dist/config.js";
import { type Context, openContext } from "../../dist/context.js";
import { acknowledgedKinds, planAlerts } from "../../dist/core/alert-plan.js";
import { evaluateDeployment, lifecycleDates } from "../../dist/core/findings.js";
import type { Policy } from "../../dist/core/policy.js";
import { integer, parseScriptOptions } from "./bench-options.js";
import { monotonicMicros } from "./cpu-profile.js";
import { log } from "./log.js";
import { cpuSecondsByName, machineCpu, QuietGate } from "./proc-stats.js";
import {
  ANATOMY_STEPS,
  type AnatomyRun,
  type AnatomyStep,
  type ChildResult,
  type PhaseRun,
  type RoundRun,
  type SweepRun,
} from "./sweep-report.js";

/** The sweep's page size (src/lifecycle/sweeper.ts): the scans read the same pages. */
const PAGE_SIZE = 1000;
const HOUR_MS = 3_600_000;

const flags = parseScriptOptions("sweep-child", {
  database: { schema: z.string().min(1), value: "URL", help: "the seeded database" },
  policies: { schema: z.string().min(1), value: "FILE", help: "the policy file" },
  at: { schema: z.coerce.number().int().positive(), value: "MS", help: "the first sweep's time" },
  rounds: { schema: integer(1), value: "N", help: "rounds after the first sweep" },
  out: { schema: z.string().min(1), value: "FILE", help: "where the results go (JSON)" },
  "quiet-wait": {
    schema: integer(0).default(15),
    value: "S",
    help: "before each round, wait up to S s for other load to pass",
  },
});
// The sweep runs in the server (or a local `tenure sweep`), which bound V8's heap growth so.
boundHeapGrowth(configFrom(process.env).heapGrowingPercent);

/** VmRSS and VmHWM of this process, MiB. */
function memory(): { rss_mb: number; peak_rss_mb: number } {
  const status = readFileSync("/proc/self/status", "utf8");
  const mib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]) / 1024;
  return { rss_mb: mib("VmRSS"), peak_rss_mb: mib("VmHWM") };
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0), so that the next reading is one phase's peak. */
function resetPeak(): void {
  writeFileSync("/proc/self/clear_refs", "5");
}

const context: Context = await openContext(flags.database, {
  policies: flags.policies,
  env: {},
});
const isPostgres = context.database.dialect === "postgres";
const stores = context.stores;
const registry = context.registry;

/** CPU seconds of each PostgreSQL process (none on SQLite), keyed by pid. */
function dbCpuSeconds(): Map<number, number> {
  return isPostgres ? cpuSecondsByName("postgres") : new Map();
}

/** CPU seconds the database used between two readings; a process that ended meanwhile is missed. */
function dbCpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let seconds = 0;
  for (const [pid, used] of after) seconds += used - (before.get(pid) ?? 0);
  return seconds;
}

/**
 * Times `work` as one phase: wall time, this process's CPU, PostgreSQL's backends' CPU (read
 * from /proc outside the timed span) and the phase's own peak RSS.
 */
async function phase<T extends { rows: number }>(work: () => Promise<T>): Promise<PhaseRun & { result: T }> {
  const dbBefore = dbCpuSeconds();
  resetPeak();
  const machineBefore = machineCpu();
  const cpuBefore = process.cpuUsage();
  const from = monotonicMicros();
  const started = process.hrtime.bigint();
  const result = await work();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const to = monotonicMicros();
  const cpu = process.cpuUsage(cpuBefore);
  const machine = machineCpu();
  const peak = memory().peak_rss_mb;
  const heap = process.memoryUsage();
  const dbAfter = dbCpuSeconds();
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const dbCpuMs = dbCpuBetween(dbBefore, dbAfter) * 1000;
  const jiffies = machine.total - machineBefore.total;
  // The machine's busy time in ms of one core, less this process and the database: neighbours.
  const machineMs = jiffies > 0 ? ((machine.busy - machineBefore.busy) / jiffies) * cpus().length * ms : 0;
  return {
    ms,
    cpu_ms: cpuMs,
    db_cpu_ms: dbCpuMs,
    rest_cpu_pct: Math.max(0, ((machineMs - cpuMs - dbCpuMs) / ms) * 100),
    rows: result.rows,
    peak_rss_mb: peak,
    heap_used_mb: heap.heapUsed / 2 ** 20,
    heap_total_mb: heap.heapTotal / 2 ** 20,
    window: { from_us: from, to_us: to },
    result,
  };
}

/** Pages through the live deployments with the sweep's own page query; optionally parses tags. */
async function scan(parseTags: boolean): Promise<{ rows: number; tags: number }> {
  let rows = 0;
  let tags = 0;
  for (let after = 0; ; ) {
    const page = await stores.deployments.liveDeployments(after, PAGE_SIZE);
    if (page.length === 0) break;
    rows += page.length;
    if (parseTags) for (const row of page) tags += Object.keys(JSON.parse(row.tags) as object).length;
    after = page.at(-1)?.id ?? after;
    if (page.length < PAGE_SIZE) break;
  }
  return { rows, tags };
}

async function sweep(at: number): Promise<SweepRun> {
  const run = await phase(async () => {
    const view = await context.lifecycle.sweep({ at, trigger: "manual", actor: "bench" });
    return { rows: view.deployments, view };
  });
  const { result, ...figures } = run;
  const v = result.view;
  return {
    ...figures,
    sweep: {
      duration_ms: v.duration_ms,
      deployments: v.deployments,
      stages: v.stages,
      findings: v.findings,
      alerts_opened: v.alerts_opened,
      alerts_resolved: v.alerts_resolved,
      notifications: v.notifications,
    },
  };
}

/**
 * The sweep's read-only steps as src/lifecycle/sweeper.ts (sweepPage) runs them per page, each
 * timed on its own: where a sweep's time goes, without a profiler's overhead. It follows the
 * sweeper of the build it was written against; the sum of the steps next to the sweep's own time
 * shows whether it still does.
 */
async function anatomy(at: number): Promise<AnatomyRun> {
  const steps = Object.fromEntries(ANATOMY_STEPS.map((s) => [s, 0])) as Record<AnatomyStep, number>;
  let mark = process.hrtime.bigint();
  const lap = (step: AnatomyStep) => {
    const now = process.hrtime.bigint();
    steps[step] += Number(now - mark) / 1e6;
    mark = now;
  };
  let openAlerts = 0;
  const run = await phase(async () => {
    let rows = 0;
    mark = process.hrtime.bigint();
    for (let after = 0; ; ) {
      const page = await stores.deployments.liveDeployments(after, PAGE_SIZE);
      lap("read_page");
      if (page.length === 0) break;
      rows += page.length;
      const policies = page.map((row) => registry.policyOf(row));
      lap("policy_of");
      const findings = page.map((row, i) => evaluateDeployment(row, policies[i] as Policy, at).findings);
      lap("evaluate");
      const first = page[0]?.id ?? 0;
      const last = page.at(-1)?.id ?? 0;
      const open = await stores.alerts.openAlertsInRange(first, last);
      openAlerts += open.length;
      lap("open_alerts_in_range");
      const reviewed = await stores.alerts.reviewedAlertsInRange(first, last);
      lap("reviewed_alerts_in_range");
      const reviewedBy = new Map<number, typeof reviewed>();
      for (const alert of reviewed)
        reviewedBy.set(alert.deployment_id, [...(reviewedBy.get(alert.deployment_id) ?? []), alert]);
      const evaluated = page.map((row, i) => {
        const policy = policies[i] as Policy;
        const acknowledged = reviewedBy.get(row.id);
        return {
          deployment_id: row.id,
          findings: findings[i] ?? [],
          repeat_interval_seconds: policy.repeat_interval_seconds,
          acknowledged: acknowledged
            ? acknowledgedKinds(acknowledged, lifecycleDates(row, policy))
            : undefined,
        };
      });
      planAlerts(evaluated, open, at);
      lap("plan_alerts");
      after = page.at(-1)?.id ?? after;
      if (page.length < PAGE_SIZE) break;
    }
    await stores.alerts.openAlertsOfEndedDeployments(500);
    lap("ended_alerts");
    return { rows };
  });
  const { result: _, ...figures } = run;
  return { ...figures, steps_ms: steps, open_alerts: openAlerts };
}

function scanPhase(parseTags: boolean): Promise<PhaseRun> {
  return phase(() => scan(parseTags)).then(({ result: _, ...figures }) => figures);
}

/**
 * The planner's plans for the page query and the alert reads a sweep makes, built as
 * src/store/deployment-store.ts and alert-store.ts build them (liveDeployments, openAlertsInRange,
 * reviewedAlertsInRange, openAlertsOfEndedDeployments).
 */
async function plans(): Promise<Record<string, string[]>> {
  const { db } = context.database;
  const ids = (await stores.deployments.liveDeployments(0, PAGE_SIZE)).map((row) => row.id);
  const queries = {
    live_page: db
      .selectFrom("deployments")
      .selectAll()
      .where("status", "=", sql.lit("active"))
      .where("id", ">", 0)
      .orderBy("id")
      .limit(PAGE_SIZE)
      .compile(),
    open_alerts_in_range: db
      .selectFrom("alerts")
      .selectAll()
      .where("state", "=", sql.lit("open"))
      .where("deployment_id", ">=", ids[0] ?? 0)
      .where("deployment_id", "<=", ids.at(-1) ?? 0)
      .compile(),
    reviewed_alerts_in_range: db
      .selectFrom("alerts")
      .selectAll()
      .where("deployment_id", ">=", ids[0] ?? 0)
      .where("deployment_id", "<=", ids.at(-1) ?? 0)
      .where("resolution", "=", sql.lit("reviewed"))
      .compile(),
    ended_alerts: db
      .selectFrom("alerts")
      .innerJoin("deployments", "deployments.id", "alerts.deployment_id")
      .selectAll("alerts")
      .select("deployments.status")
      .where("alerts.state", "=", sql.lit("open"))
      .where("deployments.status", "<>", sql.lit("active"))
      .orderBy("alerts.id")
      .limit(500)
      .compile(),
  };
  const explain = isPostgres ? "explain " : "explain query plan ";
  const out: Record<string, string[]> = {};
  for (const [name, query] of Object.entries(queries)) {
    const result = await db.executeQuery(CompiledQuery.raw(explain + query.sql, [...query.parameters]));
    out[name] = result.rows.map((row) => {
      const r = row as Record<string, unknown>;
      const line = String(r.detail ?? r["QUERY PLAN"] ?? JSON.stringify(r));
      // Long plan lines (an IN list spelled out, say) are cut for the log.
      return line.length > 160 ? `${line.slice(0, 157)}...` : line;
    });
  }
  return out;
}

async function outbox(): Promise<ChildResult["outbox"]> {
  const { db } = context.database;
  const alerts = await db
    .selectFrom("alerts")
    .select(sql<number>`count(*)`.as("n"))
    .where("state", "=", sql.lit("open"))
    .executeTakeFirstOrThrow();
  const deliveries = await db
    .selectFrom("deliveries")
    .select(sql<number>`count(*)`.as("n"))
    .executeTakeFirstOrThrow();
  return { open_alerts: Number(alerts.n), deliveries: Number(deliveries.n) };
}

const gate = new QuietGate(20, flags["quiet-wait"] * 1000, 90_000, (busy) =>
  log(`  (waiting for other load to pass: machine ${Math.round(busy)}% busy)`),
);

try {
  const baseline = memory().rss_mb;
  log(`sweep process ${process.pid}: context open, RSS ${baseline.toFixed(1)} MB`);
  await gate.wait();
  const warmup = await scanPhase(false);
  log(`  warm-up scan: ${warmup.rows} live deployments in ${warmup.ms.toFixed(0)} ms`);
  const first = await sweep(flags.at);
  log(
    `  first sweep: ${first.ms.toFixed(0)} ms, ${first.sweep.deployments} deployments, ` +
      `${first.sweep.alerts_opened} alerts opened, ${first.sweep.notifications} notifications queued`,
  );
  // A day later the alerts table has statistics; right after the first sweep wrote it,
  // PostgreSQL has none until autovacuum gets to it, which would land in a round.
  if (isPostgres) await sql`analyze`.execute(context.database.db);
  const rounds: RoundRun[] = [];
  const steadyAt = flags.at + HOUR_MS;
  for (let round = 1; round <= flags.rounds; round++) {
    const busy = await gate.wait();
    const scanned = await scanPhase(false);
    const swept = await sweep(steadyAt);
    const tagsScanned = await scanPhase(true);
    const replayed = await anatomy(steadyAt);
    rounds.push({
      busy_before_pct: busy,
      scan: scanned,
      sweep: swept,
      tags_scan: tagsScanned,
      anatomy: replayed,
    });
    log(
      `  round ${round}: scan ${scanned.ms.toFixed(0)} ms, sweep ${swept.ms.toFixed(0)} ms ` +
        `(${(swept.ms / scanned.ms).toFixed(2)}×; ${swept.sweep.alerts_opened} opened, ` +
        `${swept.sweep.alerts_resolved} resolved, ${swept.sweep.notifications} notified), ` +
        `scan+tags ${tagsScanned.ms.toFixed(0)} ms, replay ${replayed.ms.toFixed(0)} ms; ` +
        `peak RSS ${swept.peak_rss_mb.toFixed(1)} MB; other load ${Math.round(scanned.rest_cpu_pct)}% / ` +
        `${Math.round(swept.rest_cpu_pct)}% of a core during scan / sweep`,
    );
  }
  const result: ChildResult = {
    pid: process.pid,
    rss_after_open_mb: baseline,
    warmup_scan: warmup,
    first_sweep: first,
    rounds,
    rss_end_mb: memory().rss_mb,
    lifetime_peak_rss_mb: 0,
    outbox: await outbox(),
    plans: await plans(),
    quiet_wait_s: gate.waited_s,
  };
  // clear_refs reset VmHWM along the way; the largest phase peak is the lifetime's.
  result.lifetime_peak_rss_mb = Math.max(
    warmup.peak_rss_mb,
    first.peak_rss_mb,
    ...rounds.flatMap((r) => [
      r.scan.peak_rss_mb,
      r.sweep.peak_rss_mb,
      r.tags_scan.peak_rss_mb,
      r.anatomy.peak_rss_mb,
    ]),
  );
  writeFileSync(flags.out, `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await context.close();
}
