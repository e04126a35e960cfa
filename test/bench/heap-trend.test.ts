import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { fitTrend, HEAP_PROBE, type HeapSample, heapTrend, readProbe } from "../../bench/lib/heap-trend.js";

/** Samples every 10 s for 10 minutes: `mb(t)` plus a fixed, repeating scatter. */
function samples(mb: (t: number) => number): HeapSample[] {
  const scatter = [0.2, -0.15, 0.05, -0.2, 0.1];
  return Array.from({ length: 61 }, (_, i) => ({
    t_s: i * 10,
    heap_mb: mb(i * 10) + (scatter[i % scatter.length] ?? 0),
    external_mb: 1,
    gc_ms: 5,
  }));
}

describe("the retained heap's trend", () => {
  it("fits the slope of a line exactly, per minute", () => {
    const trend = fitTrend([0, 60, 120, 180].map((t) => ({ t_s: t, mb: 30 + t / 60 })));
    expect(trend.slope_mb_per_min).toBe(1);
    expect(trend.rise_mb).toBe(3);
    expect(trend.scatter_mb).toBe(0);
  });

  it("calls a heap that stops rising a plateau, however it rose in warm-up", () => {
    const trend = heapTrend(
      samples((t) => 30 + 5 * Math.min(1, t / 120)),
      60,
      [],
    );
    expect(trend.plateau).toBe(true);
    expect(trend.after_warmup.slope_mb_per_min).toBeGreaterThan(0);
  });

  it("does not call a heap that keeps rising 0.5 MiB a minute a plateau", () => {
    const trend = heapTrend(
      samples((t) => 35 + (0.5 * t) / 60),
      60,
      [],
    );
    expect(trend.plateau).toBe(false);
    expect(trend.last_third.slope_mb_per_min).toBeCloseTo(0.5, 1);
  });
});

describe("the heap probe, loaded into a process with --expose-gc", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** A process that keeps or drops memory when told on stdin, and says "ok" after each. */
  const HOLDER = `
const kept = [];
require("node:readline").createInterface({ input: process.stdin }).on("line", (line) => {
  const make = () => Array.from({ length: 200_000 }, (_, i) => ({ i, s: "x" + i }));
  if (line === "keep") kept.push(make());
  if (line === "churn") for (let n = 0; n < 3; n++) make();
  process.stdout.write("ok\\n");
});`;

  it("reads what is retained after a full collection, not garbage, and writes a snapshot when asked", async () => {
    dir = mkdtempSync(join(tmpdir(), "tenure-heap-probe-"));
    const file = join(dir, "heap.jsonl");
    const child = spawn(process.execPath, ["--expose-gc", "--import", HEAP_PROBE, "-e", HOLDER], {
      env: { ...process.env, TENURE_BENCH_HEAP_FILE: file },
      stdio: ["pipe", "pipe", "inherit"],
    });
    try {
      const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
      const tell = async (line: string) => {
        child.stdin.write(`${line}\n`);
        expect((await replies.next()).value).toBe("ok");
      };
      const sample = async () => {
        const before = readProbe(file, 0).samples.length;
        child.kill("SIGUSR2");
        for (let i = 0; i < 1200 && readProbe(file, 0).samples.length === before; i++) await delay(50);
        return readProbe(file, 0).samples.at(-1)?.heap_mb ?? Number.NaN;
      };
      await tell("start");
      const baseline = await sample();
      await tell("churn");
      const afterGarbage = await sample();
      await tell("keep");
      writeFileSync(`${file}.snapshot`, "");
      const afterKeeping = await sample();

      expect(afterGarbage - baseline).toBeLessThan(2);
      expect(afterKeeping - baseline).toBeGreaterThan(10);
      const { snapshots } = readProbe(file, 0);
      expect(snapshots).toHaveLength(1);
      expect(existsSync(snapshots[0] ?? "")).toBe(true);
      expect(existsSync(`${file}.snapshot`)).toBe(false);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
