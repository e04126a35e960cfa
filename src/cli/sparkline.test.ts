import { describe, expect, it } from "vitest";
import { bucketByTime, LEVELS, levelOf, rangeOf, sparkline } from "./sparkline.js";

describe("sparkline", () => {
  it("draws the lowest value as ▁ and the highest as █, evenly between", () => {
    const cells = [0, 1, 2, 3, 4, 5, 6, 7];
    expect(sparkline(cells, { min: 0, max: 7 })).toBe("▁▂▃▄▅▆▇█");
  });

  it("leaves an empty cell blank: a gap in the data shows as a gap", () => {
    expect(sparkline([0, null, 7], { min: 0, max: 7 })).toBe("▁ █");
  });

  it("draws a flat series at mid-height rather than on the floor", () => {
    expect(sparkline([0.9, 0.9, 0.9], { min: 0.9, max: 0.9 })).toBe("▄▄▄");
  });
});

describe("levelOf", () => {
  it("clamps values outside the range to the ends", () => {
    expect(levelOf(-5, 0, 1)).toBe(0);
    expect(levelOf(5, 0, 1)).toBe(LEVELS.length - 1);
  });
});

describe("rangeOf", () => {
  it("takes in the reference line, so a target above every value still has a height", () => {
    expect(rangeOf([0.7, 0.75, null], 0.8)).toEqual({ min: 0.7, max: 0.8 });
    expect(rangeOf([null], null)).toBeNull();
  });
});

describe("bucketByTime", () => {
  it("gives each cell the weighted mean of the points in its span of time", () => {
    const points = [
      { at: 0, value: 1, weight: 1 },
      { at: 10, value: 4, weight: 3 },
      { at: 50, value: 2, weight: 1 },
    ];
    // Two cells of 50 each over [0, 100): the first holds (1·1 + 4·3) / 4.
    expect(bucketByTime(points, 0, 100, 2)).toEqual([13 / 4, 2]);
  });

  it("leaves a span with no points empty and skips points without a value", () => {
    const points = [
      { at: 0, value: 1, weight: 1 },
      { at: 30, value: null, weight: 5 },
      { at: 90, value: 3, weight: 1 },
    ];
    expect(bucketByTime(points, 0, 100, 4)).toEqual([1, null, null, 3]);
  });

  it("puts a point at the end of the span in the last cell", () => {
    expect(bucketByTime([{ at: 100, value: 7, weight: 1 }], 0, 100, 3)).toEqual([null, null, 7]);
  });
});
