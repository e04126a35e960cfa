import { describe, expect, it } from "vitest";
import { formatRate, parseRate, rateWords } from "./rate.js";

describe("rates", () => {
  it("parses N/s, N/m, N/min and N/h, and off as no limit; refuses anything else", () => {
    expect(parseRate("50/s")).toEqual({ count: 50, perMs: 1_000 });
    expect(parseRate(" 3000/M ")).toEqual({ count: 3_000, perMs: 60_000 });
    expect(parseRate("3000/min")).toEqual({ count: 3_000, perMs: 60_000 });
    expect(parseRate("100000/h")).toEqual({ count: 100_000, perMs: 3_600_000 });
    expect(parseRate("off")).toBeNull();
    for (const bad of ["", "50", "0/s", "-1/s", "1.5/s", "50/d", "50 per second", "1/s/s", "9999999999/s"]) {
      expect(parseRate(bad), bad).toBeUndefined();
    }
  });
});

describe("rates in words", () => {
  it("format back as the flag takes them, and read as a sentence in messages", () => {
    for (const text of ["50/s", "3000/m", "100000/h"]) expect(formatRate(parseRate(text))).toBe(text);
    expect(formatRate(null)).toBe("off");
    expect(rateWords({ count: 1, perMs: 1_000 })).toBe("1 request a second");
    expect(rateWords({ count: 3_000, perMs: 60_000 })).toBe("3000 requests a minute");
  });
});
