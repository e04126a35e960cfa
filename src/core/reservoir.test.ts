import { describe, expect, it } from "vitest";
import { addToCounts, addToReservoir, hashSeed, seededRandom } from "./reservoir.js";

describe("addToReservoir", () => {
  it("keeps everything until full, then at most its capacity, counting all it saw", () => {
    const random = seededRandom(1);
    let state = { reservoir: [] as number[], seen: 0 };
    state = addToReservoir(state.reservoir, state.seen, [1, 2, 3], 5, random);
    expect(state).toEqual({ reservoir: [1, 2, 3], seen: 3 });
    for (let batch = 0; batch < 100; batch++) {
      const values = Array.from({ length: 100 }, (_, i) => batch * 100 + i);
      state = addToReservoir(state.reservoir, state.seen, values, 5, random);
    }
    expect(state.reservoir).toHaveLength(5);
    expect(state.seen).toBe(10_003);
  });

  it("keeps each value with equal probability: a uniform stream gives a uniform sample", () => {
    const random = seededRandom(hashSeed("uniform"));
    let state = { reservoir: [] as number[], seen: 0 };
    for (let batch = 0; batch < 100; batch++) {
      const values = Array.from({ length: 1000 }, (_, i) => (batch * 1000 + i) / 100_000);
      state = addToReservoir(state.reservoir, state.seen, values, 2000, random);
    }
    const mean = state.reservoir.reduce((a, b) => a + b, 0) / state.reservoir.length;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.03);
    const late = state.reservoir.filter((v) => v >= 0.9).length / state.reservoir.length;
    expect(Math.abs(late - 0.1)).toBeLessThan(0.03);
  });

  it("gives the same sample for the same seed and batches", () => {
    const run = () =>
      addToReservoir(
        [],
        0,
        Array.from({ length: 500 }, (_, i) => i),
        10,
        seededRandom(7),
      ).reservoir;
    expect(run()).toEqual(run());
  });
});

describe("addToCounts", () => {
  it("counts categories exactly up to its capacity, then counts new ones as other", () => {
    const counts = addToCounts({ a: 1 }, ["a", "b", "c", "d", "b"], 3);
    expect(counts).toEqual({ a: 2, b: 2, c: 1, __other__: 1 });
  });
});
