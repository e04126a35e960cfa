import { describe, expect, it } from "vitest";
import { type Outcome, WriteBatcher } from "../../src/registry/write-batcher.js";

describe("WriteBatcher", () => {
  it("commits items that arrive while a batch is in flight together in the next one", async () => {
    const batches: number[][] = [];
    const batcher = new WriteBatcher<number, number>({
      runBatch: async (items) => {
        batches.push(items);
        await new Promise((done) => setTimeout(done, 5));
        return items.map((value) => ({ ok: true, value: value * 2 }));
      },
      runOne: async () => {
        throw new Error("not used");
      },
      maxBatch: 10,
      concurrency: 1,
    });
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => batcher.submit(i)));
    expect(results).toEqual(Array.from({ length: 25 }, (_, i) => i * 2));
    expect(batches[0]).toEqual([0]);
    expect(batches.slice(1).map((b) => b.length)).toEqual([10, 10, 4]);
  });

  it("rejects only the refused item of a batch", async () => {
    const batcher = new WriteBatcher<number, number>({
      runBatch: async (items) =>
        items.map(
          (value): Outcome<number> =>
            value === 3 ? { ok: false, error: new Error("three") } : { ok: true, value },
        ),
      runOne: async () => {
        throw new Error("not used");
      },
      maxBatch: 10,
      concurrency: 1,
    });
    const settled = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.submit(n)));
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
  });

  it("replays a failed batch item by item, so a fault fails only the item that causes it", async () => {
    const alone: number[] = [];
    const batcher = new WriteBatcher<number, number>({
      runBatch: async (items) => {
        if (items.length > 1) throw new Error("deadlock");
        return items.map((value) => ({ ok: true, value }));
      },
      runOne: async (item) => {
        alone.push(item);
        if (item === 7) throw new Error("seven is broken");
        return item;
      },
      maxBatch: 10,
      concurrency: 1,
    });
    const settled = await Promise.allSettled([5, 6, 7, 8].map((n) => batcher.submit(n)));
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    expect(alone.sort()).toEqual([6, 7, 8]);
  });
});
