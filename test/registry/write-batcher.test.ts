import { describe, expect, it } from "vitest";
import { type Outcome, WriteBatcher } from "../../src/registry/write-batcher.js";

describe("WriteBatcher", () => {
  it("commits items submitted in one turn together, and those arriving during a commit in the next", async () => {
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
    const first = Array.from({ length: 12 }, (_, i) => batcher.submit(i));
    // Once the first batch is in flight, more arrive: they wait and go together.
    await new Promise((done) => setTimeout(done, 1));
    const later = Array.from({ length: 3 }, (_, i) => batcher.submit(100 + i));
    const results = await Promise.all([...first, ...later]);
    expect(results).toEqual([...Array.from({ length: 12 }, (_, i) => i * 2), 200, 202, 204]);
    expect(batches).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [10, 11, 100, 101, 102],
    ]);
  });

  it("starts a second batch beside one in flight only once it holds minBatchWhileBusy items", async () => {
    const batches: number[][] = [];
    const release: (() => void)[] = [];
    const batcher = new WriteBatcher<number, number>({
      runBatch: async (items) => {
        batches.push(items);
        await new Promise<void>((done) => release.push(done));
        return items.map((value) => ({ ok: true, value }));
      },
      runOne: async () => {
        throw new Error("not used");
      },
      maxBatch: 10,
      concurrency: 2,
      minBatchWhileBusy: 3,
    });
    const turn = () => new Promise((done) => setImmediate(done));
    // Alone, an item commits at once.
    const results = [batcher.submit(1)];
    await turn();
    expect(batches).toEqual([[1]]);
    // Two more wait beside the batch in flight rather than take the second slot for themselves...
    results.push(batcher.submit(2), batcher.submit(3));
    await turn();
    expect(batches).toEqual([[1]]);
    // ...until a third makes the batch worth a transaction of its own.
    results.push(batcher.submit(4));
    await turn();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    // A lone item waits while any batch is in flight, and goes, however little, once none is.
    results.push(batcher.submit(5));
    const settle = async (result: Promise<number> | undefined) => {
      release.shift()?.();
      await result;
      await turn();
      await turn();
    };
    await settle(results[0]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    await settle(results[3]);
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
    await settle(results[4]);
    expect(await Promise.all(results)).toEqual([1, 2, 3, 4, 5]);
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
    expect(alone.sort()).toEqual([5, 6, 7, 8]);
  });
});
