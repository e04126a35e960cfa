import { copyFileSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** The parts of a V8 .cpuprofile (as `node --cpu-prof` writes it) that the summary reads. */
interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  /** Microseconds on CLOCK_MONOTONIC, the clock process.hrtime reads in any process. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** A span of time, in microseconds of process.hrtime (CLOCK_MONOTONIC, shared across processes). */
export interface TimeWindow {
  from_us: number;
  to_us: number;
}

/** process.hrtime now, in microseconds: comparable with a .cpuprofile's sample times. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

export interface FrameTime {
  frame: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  /** Main-thread time with JS, GC or native work on the stack: on CPU, or off it inside a call. */
  total_ms: number;
  /** Main-thread time waiting in the event loop for I/O (V8's "(idle)"). */
  idle_ms: number;
  /** Functions by self time: where the CPU actually was. */
  top_self: FrameTime[];
  /** Self time summed by package (node_modules), Tenure file (dist/) or V8/Node internals. */
  by_origin: FrameTime[];
  /** Tenure's own functions (dist/) by inclusive time: what each costs with all it calls. */
  tenure_inclusive: FrameTime[];
}

/**
 * Ranks where a .cpuprofile's samples fell, only those inside `window` when one is given. Idle
 * time is left out of every total.
 */
export function summarizeCpuProfile(path: string, window?: TimeWindow, top = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const origin = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  let idle = 0;
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (window && (at < window.from_us || at > window.to_us)) return;
    const ms = delta / 1000;
    if (!node) return;
    if (node.callFrame.functionName === "(idle)") {
      idle += ms;
      return;
    }
    total += ms;
    add(self, frameName(node.callFrame), ms);
    add(origin, originOf(node.callFrame.url, node.callFrame.functionName), ms);
    // Each Tenure function counts once per sample, however deep it recurses.
    const seen = new Set<string>();
    for (let up: number | undefined = id; up !== undefined; up = parent.get(up)) {
      const frame = byId.get(up)?.callFrame;
      if (frame?.url.includes("/dist/")) seen.add(frameName(frame));
    }
    for (const name of seen) add(inclusive, name, ms);
  });
  const rank = (times: Map<string, number>): FrameTime[] =>
    [...times]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, ms]) => ({ frame, ms: Math.round(ms), pct: Math.round((ms / total) * 1000) / 10 }));
  return {
    total_ms: Math.round(total),
    idle_ms: Math.round(idle),
    top_self: rank(self),
    by_origin: rank(origin),
    tenure_inclusive: rank(inclusive),
  };
}

/** `node` arguments that write the process's CPU profile into `dir` when it exits. */
export function cpuProfileArgs(dir: string): string[] {
  return ["--cpu-prof", "--cpu-prof-dir", dir];
}

/** Copies the .cpuprofile a process of `who` wrote into `dir` to `saved` (once it has exited). */
export function saveCpuProfile(dir: string, saved: string, who: string): void {
  const file = readdirSync(dir).find((name) => name.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no .cpuprofile in ${dir}: did ${who} exit cleanly?`);
  copyFileSync(join(dir, file), saved);
}

/** A summary as the benchmarks print it: its busy time, then the top 15 of each ranking. */
export function formatProfileSummary(title: string, summary: ProfileSummary): string[] {
  const lines = [
    `\n-- ${title}: main thread busy ${summary.total_ms} ms, idle ${summary.idle_ms} ms ` +
      "(shares below are of busy time)",
  ];
  const section = (heading: string, rows: FrameTime[]) => {
    lines.push(`  ${heading}`);
    for (const row of rows.slice(0, 15)) {
      lines.push(`    ${row.pct.toFixed(1).padStart(5)}%  ${String(row.ms).padStart(7)} ms  ${row.frame}`);
    }
  };
  section("self time by origin:", summary.by_origin);
  section("functions by self time:", summary.top_self);
  section("tenure functions by inclusive time:", summary.tenure_inclusive);
  return lines;
}

function add(times: Map<string, number>, key: string, ms: number): void {
  times.set(key, (times.get(key) ?? 0) + ms);
}

function frameName(frame: { functionName: string; url: string; lineNumber: number }): string {
  const where = frame.url ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}` : "native";
  return `${frame.functionName || "(anonymous)"} ${where}`;
}

function shortUrl(url: string): string {
  const inModules = url.lastIndexOf("/node_modules/");
  if (inModules >= 0) return url.slice(inModules + "/node_modules/".length);
  const inDist = url.lastIndexOf("/dist/");
  if (inDist >= 0) return url.slice(inDist + 1);
  return url.replace(/^file:\/\//, "");
}

function originOf(url: string, functionName: string): string {
  const inModules = url.lastIndexOf("/node_modules/");
  if (inModules >= 0) {
    const rest = url.slice(inModules + "/node_modules/".length).split("/");
    return rest[0]?.startsWith("@") ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.includes("/dist/")) return `tenure ${shortUrl(url)}`;
  if (url.startsWith("node:")) return "node internals (JS)";
  return url === "" ? functionName || "(native)" : url;
}
