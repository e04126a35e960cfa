/**
 * Bench-only: loaded into a server under test with
 *   node --expose-gc --import <this file> bin/tenure.js serve ...
 * and nowhere else (no production module imports it; `tenure serve` has no such hook). It lets
 * the load benchmark read what the process retains rather than its RSS:
 *
 *   TENURE_BENCH_HEAP_FILE=PATH  on each SIGUSR2, a full collection (global.gc), then one JSON line
 *                                appended to PATH: the heap after it (v8.getHeapStatistics), the
 *                                space sizes and process.memoryUsage().
 *                                When the file PATH.snapshot exists at that moment, it is removed
 *                                and a heap snapshot (v8.writeHeapSnapshot) is written beside PATH
 *                                as well, its name in the line's `snapshot`.
 *
 * Without TENURE_BENCH_HEAP_FILE or without --expose-gc it does nothing at all.
 */
import { appendFileSync, existsSync, unlinkSync } from "node:fs";
import { dirname, join } from "node:path";
import { getHeapSpaceStatistics, getHeapStatistics, writeHeapSnapshot } from "node:v8";

const file = process.env.TENURE_BENCH_HEAP_FILE;
const gc = globalThis.gc;
if (file && typeof gc === "function") {
  const snapshotRequest = `${file}.snapshot`;
  let n = 0;
  process.on("SIGUSR2", () => {
    n++;
    const started = performance.now();
    gc();
    const gc_ms = performance.now() - started;
    const heap = getHeapStatistics();
    const memory = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
    let snapshot;
    if (existsSync(snapshotRequest)) {
      unlinkSync(snapshotRequest);
      snapshot = writeHeapSnapshot(join(dirname(file), `heap-${process.pid}-${n}.heapsnapshot`));
    }
    appendFileSync(
      file,
      `${JSON.stringify({
        n,
        at: Date.now(),
        gc_ms,
        used_heap_size: heap.used_heap_size,
        total_heap_size: heap.total_heap_size,
        external_memory: heap.external_memory,
        array_buffers: memory.arrayBuffers,
        rss: memory.rss,
        spaces,
        snapshot,
      })}\n`,
    );
  });
}
