import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BoundedQueue } from "../../src/sdk/bounded-queue.js";

type Step = { op: "push"; value: number } | { op: "take"; max: number } | { op: "putBack"; count: number };

describe("BoundedQueue", () => {
  it("behaves as a list that drops its oldest items past capacity, whatever the order of pushes, takes and put-backs", () => {
    const step = fc.oneof(
      fc.record({ op: fc.constant("push" as const), value: fc.integer() }),
      fc.record({ op: fc.constant("take" as const), max: fc.integer({ min: 0, max: 6 }) }),
      fc.record({ op: fc.constant("putBack" as const), count: fc.integer({ min: 0, max: 6 }) }),
    );
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(step, { maxLength: 80 }),
        (capacity, steps: Step[]) => {
          const queue = new BoundedQueue<number>(capacity);
          let model: number[] = [];
          let lastTaken: number[] = [];
          for (const s of steps) {
            if (s.op === "push") {
              model.push(s.value);
              const dropped = Math.max(0, model.length - capacity);
              model = model.slice(dropped);
              expect(queue.push(s.value)).toBe(dropped);
            } else if (s.op === "take") {
              lastTaken = queue.take(s.max);
              expect(lastTaken).toEqual(model.slice(0, s.max));
              model = model.slice(s.max);
            } else {
              const back = lastTaken.slice(0, s.count);
              lastTaken = [];
              const room = capacity - model.length;
              const kept = back.slice(Math.max(0, back.length - room));
              expect(queue.putBack(back)).toBe(back.length - kept.length);
              model = [...kept, ...model];
            }
            expect(queue.size).toBe(model.length);
            expect(queue.size).toBeLessThanOrEqual(capacity);
          }
          expect(queue.take(capacity)).toEqual(model);
        },
      ),
    );
  });

  it("takes a batch only while its items belong with the first", () => {
    const queue = new BoundedQueue<number>(10);
    for (const value of [1, 1, 2, 2, 2, 3]) queue.push(value);
    const sameDay = (first: number, item: number) => first === item;
    expect(queue.take(10, sameDay)).toEqual([1, 1]);
    expect(queue.take(2, sameDay)).toEqual([2, 2]);
    expect(queue.take(10, sameDay)).toEqual([2]);
    expect(queue.take(10, sameDay)).toEqual([3]);
  });

  it("counts what clear() empties, and refuses a capacity it cannot hold", () => {
    const queue = new BoundedQueue<string>(3);
    queue.push("a");
    queue.push("b");
    expect(queue.clear()).toBe(2);
    expect(queue.size).toBe(0);
    expect(() => new BoundedQueue(0)).toThrow(RangeError);
  });
});
