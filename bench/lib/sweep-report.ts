import type { RunFacts } from "./bench-run.js";
import type { ProfileSummary, TimeWindow } from "./cpu-profile.js";
import type { Dialect } from "./scratch-database.js";
import { median, round } from "./stats.js";
import type { FleetCensus } from "./sweep-workload.js";

/** What the sweep benchmark holds the sweep to, against the bare scan measured in the same run. */
export const SWEEP_TARGETS = {
  /** The steady-state sweep's median time at most this multiple of the bare scan's. */
  max_sweep_ratio: 3,
  /** Peak RSS during sweeps at most this much above the RSS once the context is open, in MiB. */
  max_rss_growth_mb: 100,
} as const;

/** One timed pass over the live deployments, in the sweep process. */
export interface PhaseRun {
  /** Wall time, ms. */
  ms: number;
  /** CPU time of the sweep process (user + system), ms. */
  cpu_ms: number;
  /** CPU time of PostgreSQL's backends meanwhile, ms (0 on SQLite, which runs in-process). */
  db_cpu_ms: number;
  /** Everything else the machine ran meanwhile (neighbours), in % of one core: noise if high. */
  rest_cpu_pct: number;
  /** Live deployments read. */
  rows: number;
  /** VmHWM over this phase alone (reset through /proc/self/clear_refs before it), MiB. */
  peak_rss_mb: number;
  /** V8's heap at the end of the phase (used and reserved), MiB: RSS above it is native memory. */
  heap_used_mb: number;
  heap_total_mb: number;
  /** When it ran, on process.hrtime's clock: selects its samples in a CPU profile. */
  window: TimeWindow;
}

/** A sweep's own log row, as `lifecycle.sweep` returned it. */
export interface SweepLog {
  duration_ms: number | null;
  deployments: number;
  stages: Record<string, number>;
  findings: Record<string, number>;
  alerts_opened: number;
  alerts_resolved: number;
  notifications: number;
}

export interface SweepRun extends PhaseRun {
  sweep: SweepLog;
}

/**
 * The sweep's read-only steps replayed page by page, each timed on its own: reading the page,
 * choosing each row's policy, evaluating it, reading the page's open and reviewed alerts,
 * planning the alert changes, and looking for open alerts of ended deployments.
 */
export interface AnatomyRun extends PhaseRun {
  steps_ms: Record<AnatomyStep, number>;
  /** Open alerts read back for the pages, in all. */
  open_alerts: number;
}

export const ANATOMY_STEPS = [
  "read_page",
  "policy_of",
  "evaluate",
  "open_alerts_in_range",
  "reviewed_alerts_in_range",
  "plan_alerts",
  "ended_alerts",
] as const;
export type AnatomyStep = (typeof ANATOMY_STEPS)[number];

export interface RoundRun {
  /** The machine's busy share (% of all cores) when the round started, after any wait. */
  busy_before_pct: number;
  scan: PhaseRun;
  sweep: SweepRun;
  tags_scan: PhaseRun;
  anatomy: AnatomyRun;
}

/** What the sweep process (bench/lib/sweep-child.ts) writes to its --out file. */
export interface ChildResult {
  pid: number;
  /** VmRSS once the context is open (schema checked, policies loaded), before any scan: the baseline. */
  rss_after_open_mb: number;
  warmup_scan: PhaseRun;
  first_sweep: SweepRun;
  rounds: RoundRun[];
  rss_end_mb: number;
  /** The highest of the phases' peaks (VmHWM is reset before each phase), for scale. */
  lifetime_peak_rss_mb: number;
  /** Rows in the outbox tables after the last sweep. */
  outbox: { open_alerts: number; deliveries: number };
  plans: Record<string, string[]>;
  quiet_wait_s: number;
}

export interface Spread {
  median: number;
  min: number;
  max: number;
}

export interface SweepSummary {
  scan_ms: Spread;
  tags_scan_ms: Spread;
  sweep_ms: Spread;
  first_sweep_ms: number;
  /** Steady sweep median over bare scan median: the figure held to the target. */
  ratio: number;
  first_ratio: number;
  /** Per page-step medians of the anatomy passes, ms. */
  anatomy_ms: Record<AnatomyStep, number>;
  /** Median wall time of a whole anatomy pass, ms: next to sweep_ms, what the replay leaves out. */
  replay_ms: number;
  /** Median CPU of the sweep process and of PostgreSQL's backends during a steady sweep, ms. */
  sweep_cpu_ms: number;
  sweep_db_cpu_ms: number;
  scan_cpu_ms: number;
  scan_db_cpu_ms: number;
  /** The highest "rest" (other load, % of one core) seen during any scan or steady sweep. */
  max_rest_cpu_pct: number;
  memory: {
    baseline_rss_mb: number;
    /** The warm-up scan's peak, before any sweep: what the floor itself adds to the baseline. */
    scan_peak_rss_mb: number;
    first_sweep_peak_rss_mb: number;
    steady_sweep_peak_rss_mb: number;
    growth_mb: number;
  };
  target_max_ratio: number;
  target_max_growth_mb: number;
  ratio_met: boolean;
  memory_met: boolean;
}

export interface SweepBenchResult extends RunFacts {
  bench: "sweep";
  dialect: Dialect;
  peers: { tenure: string; floor: string };
  fleet: FleetCensus;
  seed_seconds: number;
  /** The evaluation time of the first sweep (epoch ms); steady sweeps run one hour later. */
  evaluated_at: number;
  summary: SweepSummary;
  child: ChildResult;
  profile?: {
    file: string;
    first_sweep: ProfileSummary;
    steady_sweeps: ProfileSummary;
    scans: ProfileSummary;
  };
}

function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** The figures a reader wants from one dialect's run, from the sweep process's raw rounds. */
export function summarize(child: ChildResult): SweepSummary {
  const rounds = child.rounds;
  const scan = spread(rounds.map((r) => r.scan.ms));
  const sweep = spread(rounds.map((r) => r.sweep.ms));
  const anatomy = Object.fromEntries(
    ANATOMY_STEPS.map((step) => [step, median(rounds.map((r) => r.anatomy.steps_ms[step]))]),
  ) as Record<AnatomyStep, number>;
  const steadyPeak = Math.max(...rounds.map((r) => r.sweep.peak_rss_mb));
  const sweepPeak = Math.max(steadyPeak, child.first_sweep.peak_rss_mb);
  const growth = sweepPeak - child.rss_after_open_mb;
  const ratio = sweep.median / scan.median;
  return {
    scan_ms: scan,
    tags_scan_ms: spread(rounds.map((r) => r.tags_scan.ms)),
    sweep_ms: sweep,
    first_sweep_ms: child.first_sweep.ms,
    ratio,
    first_ratio: child.first_sweep.ms / scan.median,
    anatomy_ms: anatomy,
    replay_ms: median(rounds.map((r) => r.anatomy.ms)),
    sweep_cpu_ms: median(rounds.map((r) => r.sweep.cpu_ms)),
    sweep_db_cpu_ms: median(rounds.map((r) => r.sweep.db_cpu_ms)),
    scan_cpu_ms: median(rounds.map((r) => r.scan.cpu_ms)),
    scan_db_cpu_ms: median(rounds.map((r) => r.scan.db_cpu_ms)),
    max_rest_cpu_pct: Math.max(...rounds.flatMap((r) => [r.scan.rest_cpu_pct, r.sweep.rest_cpu_pct])),
    memory: {
      baseline_rss_mb: child.rss_after_open_mb,
      scan_peak_rss_mb: child.warmup_scan.peak_rss_mb,
      first_sweep_peak_rss_mb: child.first_sweep.peak_rss_mb,
      steady_sweep_peak_rss_mb: steadyPeak,
      growth_mb: growth,
    },
    target_max_ratio: SWEEP_TARGETS.max_sweep_ratio,
    target_max_growth_mb: SWEEP_TARGETS.max_rss_growth_mb,
    ratio_met: ratio <= SWEEP_TARGETS.max_sweep_ratio,
    memory_met: growth < SWEEP_TARGETS.max_rss_growth_mb,
  };
}

const DIALECT_NAMES: Record<Dialect, string> = { sqlite: "SQLite", postgres: "PostgreSQL" };

/** The summary table of every dialect run, in the shape BENCHMARKS.md quotes. */
export function formatSummary(results: SweepBenchResult[]): string {
  const ms = (value: number) => `${round(value, value < 100 ? 1 : 0).toLocaleString("en-US")} ms`;
  const range = (s: Spread) => `${ms(s.median)} (${ms(s.min)}–${ms(s.max)})`;
  const lines: string[] = [];
  for (const result of results) {
    const s = result.summary;
    const name = DIALECT_NAMES[result.dialect];
    const rows = result.child.rounds[0]?.scan.rows ?? 0;
    lines.push(
      `${name}: ${rows.toLocaleString("en-US")} live deployments, ${result.child.rounds.length} rounds; median (min–max); ` +
        `other load at most ${Math.round(s.max_rest_cpu_pct)}% of a core during scans and sweeps`,
      `  bare scan (floor)              ${range(s.scan_ms)}   [process CPU ${ms(s.scan_cpu_ms)}, db CPU ${ms(s.scan_db_cpu_ms)}]`,
      `  scan + JSON.parse(tags)        ${range(s.tags_scan_ms)}`,
      `  steady sweep                   ${range(s.sweep_ms)}   [process CPU ${ms(s.sweep_cpu_ms)}, db CPU ${ms(s.sweep_db_cpu_ms)}]`,
      `  first sweep, writes alerts     ${ms(s.first_sweep_ms)}   (${result.child.first_sweep.sweep.alerts_opened.toLocaleString("en-US")} alerts, ${result.child.first_sweep.sweep.notifications.toLocaleString("en-US")} notifications queued)`,
      `  ratio steady sweep / scan      ${round(s.ratio, 2)}×  (target ≤ ${s.target_max_ratio}×: ${s.ratio_met ? "met" : "NOT met"})`,
      `  ratio first sweep / scan       ${round(s.first_ratio, 1)}×`,
      `  sweep's read-only steps replayed: ${ms(s.replay_ms)} per pass; median ms per step: ` +
        Object.entries(s.anatomy_ms)
          .map(([step, value]) => `${step} ${round(value, 0)}`)
          .join(", "),
      `  memory: RSS ${round(s.memory.baseline_rss_mb, 1)} MB once open; peak ${round(s.memory.scan_peak_rss_mb, 1)} MB in a scan before any sweep, ` +
        `${round(s.memory.first_sweep_peak_rss_mb, 1)} MB in the first sweep, ${round(s.memory.steady_sweep_peak_rss_mb, 1)} MB in steady sweeps; ` +
        `growth ${round(s.memory.growth_mb, 1)} MB (target < ${s.target_max_growth_mb} MB: ${s.memory_met ? "met" : "NOT met"})`,
      "",
    );
  }
  return lines.join("\n");
}
