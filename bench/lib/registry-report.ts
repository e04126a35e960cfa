import type { BareWriteFigures } from "./bare-writes.js";
import type { RunFacts } from "./bench-run.js";
import type { Census } from "./census.js";
import type { ProfileSummary } from "./cpu-profile.js";
import type { LoadResult } from "./load.js";
import type { CpuUse } from "./proc-stats.js";
import type { Dialect } from "./scratch-database.js";
import { round } from "./stats.js";

/** What the registry benchmark holds Tenure to, against the floor measured in the same run. */
export const TARGETS = {
  /** Tenure's registrations/s at least this share of the floor's. */
  min_registration_ratio: 0.3,
  /** Tenure's list p99 at most this multiple of the floor's. */
  max_read_p99_ratio: 3,
  /** The Tenure server's peak RSS (VmHWM) under this, in MiB. */
  max_rss_mb: 200,
} as const;

/** One round against one server: autocannon's figures plus the CPU the server and machine used. */
export interface RoundFigures extends LoadResult, CpuUse {}

export interface SideFigures {
  rounds: RoundFigures[];
  median_req_per_s: number;
  median_p50_ms: number;
  median_p99_ms: number;
  median_server_cpu_pct: number;
  median_bench_cpu_pct: number;
  median_db_cpu_pct: number;
  median_rest_cpu_pct: number;
}

export interface RegistrationFigures {
  registrations: number;
  connections: number;
  tenure: SideFigures;
  floor: SideFigures;
  /** Tenure's median req/s over the floor's. */
  ratio: number;
  target_min_ratio: number;
  met: boolean;
  /**
   * PostgreSQL only: the bare write server (bench/lib/bare-postgres-server.ts), measured in the
   * same rounds, and its median req/s over the floor's: about the most any server storing the
   * same rows reaches on this machine.
   */
  bare?: SideFigures;
  bare_ratio?: number;
}

export interface ReadFigures {
  name: string;
  path: string;
  page_items: number;
  connections: number;
  seconds_per_round: number;
  tenure: SideFigures;
  floor: SideFigures;
  p50_ratio: number;
  /** Tenure's median p99 over the floor's. */
  p99_ratio: number;
  target_max_p99_ratio: number;
  met: boolean;
}

export interface MemoryFigures {
  /** VmHWM of the Tenure server process at the end of the run. */
  tenure_peak_rss_mb: number;
  tenure_rss_at_start_mb: number;
  tenure_rss_after_registration_mb: number;
  tenure_rss_end_mb: number;
  floor_peak_rss_mb: number;
  target_max_mb: number;
  met: boolean;
}

export interface BareWriteCeiling extends BareWriteFigures {
  /** The floor's server CPU per registration, µs: its median CPU share over its median rate. */
  floor_cpu_us_per_request: number;
  /**
   * Registrations/s one server thread could reach if it paid only the bare writes and the HTTP
   * floor, over the floor's rate: the most the registration ratio can be on this machine without
   * a second thread doing the writes.
   */
  ceiling_ratio: number;
}

export interface RegistryBenchResult extends RunFacts {
  bench: "registry";
  dialect: Dialect;
  /** Peers, named: what each side of every ratio is. */
  peers: { tenure: string; floor: string; load: string; bare?: string };
  /** Seconds spent waiting for other load on the machine to pass before rounds. */
  quiet_wait_s: number;
  registration: RegistrationFigures;
  /** SQLite only: the bare SQL write path (bench/lib/bare-writes.ts) and the ceiling it sets. */
  bare_writes?: BareWriteCeiling;
  reads: ReadFigures[];
  memory: MemoryFigures;
  census: Census;
  /** With --profile: the Tenure server's CPU profile, cut by phase. */
  profile?: { file: string; phases: Record<string, ProfileSummary> };
}

const yesNo = (met: boolean) => (met ? "yes" : "NO");
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const cpu = (s: SideFigures) =>
  [s.median_server_cpu_pct, s.median_bench_cpu_pct, s.median_db_cpu_pct, s.median_rest_cpu_pct]
    .map(int)
    .join(" / ");
const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));

/** The closing table: medians over rounds and the ratios against their targets, per dialect. */
export function formatSummary(results: RegistryBenchResult[]): string {
  const rows: string[][] = [["dialect", "metric", "tenure", "floor", "ratio", "target", "met"]];
  for (const r of results) {
    const reg = r.registration;
    rows.push([
      r.dialect,
      `registrations/s (median of ${reg.tenure.rounds.length}, ${reg.connections} conn)`,
      int(reg.tenure.median_req_per_s),
      int(reg.floor.median_req_per_s),
      `${round(reg.ratio, 3)}x`,
      `>= ${reg.target_min_ratio}x`,
      yesNo(reg.met),
    ]);
    rows.push([
      r.dialect,
      "  CPU % of a core: server / bench / db / rest",
      cpu(reg.tenure),
      cpu(reg.floor),
      "",
      "",
      "",
    ]);
    rows.push([
      r.dialect,
      "  registration p50 / p99 ms",
      `${ms(reg.tenure.median_p50_ms)} / ${ms(reg.tenure.median_p99_ms)}`,
      `${ms(reg.floor.median_p50_ms)} / ${ms(reg.floor.median_p99_ms)}`,
      "",
      "",
      "",
    ]);
    if (reg.bare && reg.bare_ratio !== undefined) {
      rows.push([
        r.dialect,
        "  bare PostgreSQL write server registrations/s",
        int(reg.bare.median_req_per_s),
        int(reg.floor.median_req_per_s),
        `${round(reg.bare_ratio, 3)}x`,
        "",
        "",
      ]);
      rows.push([
        r.dialect,
        "    its CPU % of a core: server / bench / db / rest",
        cpu(reg.bare),
        "",
        "",
        "",
        "",
      ]);
    }
    if (r.bare_writes) {
      const bare = r.bare_writes;
      rows.push([
        r.dialect,
        `  bare SQL writes/s (1 thread, batches of ${bare.batch}, no HTTP)`,
        int(bare.per_s),
        "",
        "",
        "",
        "",
      ]);
      rows.push([
        r.dialect,
        "  CPU µs a registration: bare SQL / floor's HTTP",
        round(bare.cpu_us_per_registration, 0).toString(),
        round(bare.floor_cpu_us_per_request, 0).toString(),
        "",
        "",
        "",
      ]);
      rows.push([
        r.dialect,
        "  ceiling for one thread: bare SQL + HTTP floor",
        "",
        "",
        `${round(bare.ceiling_ratio, 3)}x`,
        "",
        "",
      ]);
    }
    for (const read of r.reads) {
      rows.push([
        r.dialect,
        `${read.name} p50 ms (${read.connections} conn)`,
        ms(read.tenure.median_p50_ms),
        ms(read.floor.median_p50_ms),
        `${round(read.p50_ratio, 1)}x`,
        "",
        "",
      ]);
      rows.push([
        r.dialect,
        `${read.name} p99 ms`,
        ms(read.tenure.median_p99_ms),
        ms(read.floor.median_p99_ms),
        `${round(read.p99_ratio, 1)}x`,
        `<= ${read.target_max_p99_ratio}x`,
        yesNo(read.met),
      ]);
      rows.push([
        r.dialect,
        `${read.name} req/s`,
        int(read.tenure.median_req_per_s),
        int(read.floor.median_req_per_s),
        "",
        "",
        "",
      ]);
    }
    rows.push([
      r.dialect,
      "server peak RSS MB (VmHWM)",
      int(r.memory.tenure_peak_rss_mb),
      int(r.memory.floor_peak_rss_mb),
      "",
      `< ${r.memory.target_max_mb}`,
      yesNo(r.memory.met),
    ]);
  }
  return table(rows);
}

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((row) => (row[c] ?? "").length))) ?? [];
  const line = (row: string[]) =>
    row
      .map((cell, c) => (c <= 1 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join("  ")
      .trimEnd();
  const rule = widths.map((w) => "-".repeat(w)).join("  ");
  return [line(rows[0] ?? []), rule, ...rows.slice(1).map(line)].join("\n");
}
