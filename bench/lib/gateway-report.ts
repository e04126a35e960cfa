/** The gateway benchmark's figures: what each run measured, the medians, the ratios and targets. */
import { median, round } from "./stats.js";
import type { WrkResult } from "./wrk.js";

/** The servers measured, in the order the first round runs them. */
export const PEERS = [
  "upstream",
  "nginx",
  "http-proxy",
  "floor",
  "gateway",
  "gateway+shadow",
  "floor x2",
  "gateway x2",
] as const;
export type PeerName = (typeof PEERS)[number];

/** One run of wrk against one peer, with the CPU the peer's processes used meanwhile. */
export interface PeerRun extends WrkResult {
  peer: PeerName;
  round: number;
  /** Fixed-rate runs: the rate asked for; saturated runs: undefined. */
  rate_asked?: number;
  /** CPU of the peer's processes (nginx's worker, a cluster's workers) per request answered, µs. */
  cpu_us_per_request: number;
  /** The whole machine's busy share during the run, % of all cores (the neighbours show here). */
  machine_busy_pct: number;
}

export interface PeerSummary {
  peer: PeerName;
  processes: number;
  saturated: {
    rounds: number;
    median_req_per_s: number;
    min_req_per_s: number;
    max_req_per_s: number;
    median_p99_ms: number;
    median_cpu_us_per_request: number;
    median_machine_busy_pct: number;
  };
  fixed_rate?: {
    rounds: number;
    rate_asked: number;
    median_req_per_s: number;
    median_p50_ms: number;
    median_p99_ms: number;
  };
}

export interface Check {
  name: string;
  value: number;
  target: string;
  /** Undefined for figures printed for information (nginx's ratio). */
  met?: boolean;
}

export const TARGETS = {
  gateway_over_http_proxy: 1.2,
  gateway_over_floor: 0.9,
  p99_over_floor_ms: 1,
  shadow_p99_ratio: 1.1,
};

export function summarize(runs: PeerRun[], processes: (peer: PeerName) => number): PeerSummary[] {
  const summaries: PeerSummary[] = [];
  for (const peer of PEERS) {
    const saturated = runs.filter((r) => r.peer === peer && r.rate_asked === undefined);
    if (saturated.length === 0) continue;
    const fixed = runs.filter((r) => r.peer === peer && r.rate_asked !== undefined);
    const rates = saturated.map((r) => r.req_per_s);
    summaries.push({
      peer,
      processes: processes(peer),
      saturated: {
        rounds: saturated.length,
        median_req_per_s: median(rates),
        min_req_per_s: Math.min(...rates),
        max_req_per_s: Math.max(...rates),
        median_p99_ms: median(saturated.map((r) => r.p99_ms)),
        median_cpu_us_per_request: median(saturated.map((r) => r.cpu_us_per_request)),
        median_machine_busy_pct: median(saturated.map((r) => r.machine_busy_pct)),
      },
      ...(fixed.length
        ? {
            fixed_rate: {
              rounds: fixed.length,
              rate_asked: fixed[0]?.rate_asked ?? Number.NaN,
              median_req_per_s: median(fixed.map((r) => r.req_per_s)),
              median_p50_ms: median(fixed.map((r) => r.p50_ms)),
              median_p99_ms: median(fixed.map((r) => r.p99_ms)),
            },
          }
        : {}),
    });
  }
  return summaries;
}

/** The targets (and nginx's ratio, for information) from the medians. */
export function checks(summaries: PeerSummary[]): Check[] {
  const of = (peer: PeerName) => summaries.find((s) => s.peer === peer);
  const rate = (peer: PeerName) => of(peer)?.saturated.median_req_per_s ?? Number.NaN;
  const p99 = (peer: PeerName) => of(peer)?.fixed_rate?.median_p99_ms ?? Number.NaN;
  const found: Check[] = [];
  const add = (check: Check) => {
    if (Number.isFinite(check.value)) found.push(check);
  };
  const throughput = rate("gateway") / rate("http-proxy");
  add({
    name: "throughput gateway / http-proxy",
    value: throughput,
    target: `>= ${TARGETS.gateway_over_http_proxy}`,
    met: throughput >= TARGETS.gateway_over_http_proxy,
  });
  const overFloor = rate("gateway") / rate("floor");
  add({
    name: "throughput gateway / floor",
    value: overFloor,
    target: `>= ${TARGETS.gateway_over_floor}`,
    met: overFloor >= TARGETS.gateway_over_floor,
  });
  const twoOverFloor = rate("gateway x2") / rate("floor x2");
  add({
    name: "throughput gateway x2 / floor x2",
    value: twoOverFloor,
    target: `>= ${TARGETS.gateway_over_floor}`,
    met: twoOverFloor >= TARGETS.gateway_over_floor,
  });
  const p99Gap = p99("gateway") - p99("floor");
  add({
    name: "p99 at half rate, gateway - floor (ms)",
    value: p99Gap,
    target: `<= ${TARGETS.p99_over_floor_ms}`,
    met: p99Gap <= TARGETS.p99_over_floor_ms,
  });
  const shadow = p99("gateway+shadow") / p99("gateway");
  add({
    name: "p99 at half rate, gateway+shadow / gateway",
    value: shadow,
    target: `<= ${TARGETS.shadow_p99_ratio}`,
    met: shadow <= TARGETS.shadow_p99_ratio,
  });
  add({ name: "throughput gateway / nginx", value: rate("gateway") / rate("nginx"), target: "info" });
  add({ name: "throughput gateway x2 / nginx", value: rate("gateway x2") / rate("nginx"), target: "info" });
  add({ name: "throughput floor / nginx", value: rate("floor") / rate("nginx"), target: "info" });
  add({ name: "throughput http-proxy / nginx", value: rate("http-proxy") / rate("nginx"), target: "info" });
  add({ name: "throughput nginx / upstream", value: rate("nginx") / rate("upstream"), target: "info" });
  const cpu = (peer: PeerName) => of(peer)?.saturated.median_cpu_us_per_request ?? Number.NaN;
  add({ name: "CPU per request gateway / floor", value: cpu("gateway") / cpu("floor"), target: "info" });
  add({ name: "CPU per request gateway / nginx", value: cpu("gateway") / cpu("nginx"), target: "info" });
  return found;
}

const num = (value: number, digits = 0) =>
  Number.isFinite(value)
    ? round(value, digits).toLocaleString("en-US", {
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      })
    : "-";

export function formatTable(summaries: PeerSummary[]): string {
  const head = [
    "peer",
    "procs",
    "req/s (median)",
    "min-max",
    "p99 sat ms",
    "CPU us/req",
    "busy %",
    "fixed: req/s",
    "p50 ms",
    "p99 ms",
  ];
  const rows = summaries.map((s) => [
    s.peer,
    String(s.processes),
    num(s.saturated.median_req_per_s),
    `${num(s.saturated.min_req_per_s)}-${num(s.saturated.max_req_per_s)}`,
    num(s.saturated.median_p99_ms, 2),
    num(s.saturated.median_cpu_us_per_request, 0),
    num(s.saturated.median_machine_busy_pct, 0),
    s.fixed_rate ? `${num(s.fixed_rate.median_req_per_s)}/${num(s.fixed_rate.rate_asked)}` : "",
    s.fixed_rate ? num(s.fixed_rate.median_p50_ms, 2) : "",
    s.fixed_rate ? num(s.fixed_rate.median_p99_ms, 2) : "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join("  ");
  return [line(head), ...rows.map(line)].join("\n");
}

export function formatChecks(found: Check[]): string {
  return found
    .map((c) => {
      const verdict = c.met === undefined ? "(info)" : c.met ? "met" : "NOT MET";
      return `  ${c.name.padEnd(44)} ${num(c.value, 2).padStart(8)}   target ${c.target.padEnd(7)} ${verdict}`;
    })
    .join("\n");
}
