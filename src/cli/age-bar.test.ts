import { describe, expect, it } from "vitest";
import { ageBar, reviewMarkCell, ttlPercent } from "./age-bar.js";

describe("ageBar", () => {
  it("draws age against TTL in eighths of a cell, with the review point marked", () => {
    // 0.6 of 14 cells is 8.4 cells: 8 full and 3 eighths; review at 0.8 is cell 11.
    expect(ageBar(0.6, 0.8)).toBe("████████▍··│··");
  });

  it("keeps the review mark on a bar that has passed it, so a full bar still shows where review began", () => {
    // 0.9 of 14 cells is 12.6: twelve full (the twelfth is the mark) and five eighths.
    expect(ageBar(0.9, 0.8)).toBe("███████████│▋·");
  });

  it("fills every cell past the TTL: the percent beside it says how far past", () => {
    expect(ageBar(4.11, 0.8)).toBe("███████████│██");
    expect(ttlPercent(4.11)).toBe("411%");
  });

  it("draws an empty bar for a new deployment and for a fraction that is not a number", () => {
    expect(ageBar(0, 0.8, 10)).toBe("········│·");
    expect(ageBar(Number.NaN, null, 4)).toBe("····");
  });

  it("has as many characters as cells, one column each, whatever the age", () => {
    for (const fraction of [0, 0.01, 0.33, 0.5, 0.79, 0.8, 1, 2.5]) {
      expect([...ageBar(fraction, 0.8, 12)]).toHaveLength(12);
      expect(ageBar(fraction, 0.8, 12)).toHaveLength(12);
    }
  });

  it("draws no mark without a review point", () => {
    expect(ageBar(0.5, null, 8)).toBe("████····");
  });
});

describe("reviewMarkCell", () => {
  it("keeps the mark inside the bar at either end", () => {
    expect(reviewMarkCell(0, 10)).toBe(0);
    expect(reviewMarkCell(1, 10)).toBe(9);
    expect(reviewMarkCell(0.5, 10)).toBe(5);
    expect(reviewMarkCell(null, 10)).toBeNull();
  });
});
