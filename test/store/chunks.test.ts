import { describe, expect, it } from "vitest";
import { chunks } from "../../src/store/write-chunks.js";

describe("chunks", () => {
  it("covers every row once, in order, with a few shapes only", () => {
    const shapes = new Set<number>();
    for (let n = 0; n <= 2000; n++) {
      const list = chunks(n);
      let next = 0;
      for (const [start, end] of list) {
        expect(start).toBe(next);
        shapes.add(end - start);
        next = end;
      }
      expect(next).toBe(n);
    }
    expect([...shapes].sort((a, b) => a - b)).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256]);
  });
});
