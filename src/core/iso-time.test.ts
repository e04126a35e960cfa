import { describe, expect, it } from "vitest";
import { isoTime } from "./iso-time.js";
import { seededRandom } from "./reservoir.js";

describe("isoTime", () => {
  it("writes exactly what Date#toISOString writes, over a million instants from 1970 to 9999", () => {
    const random = seededRandom(42);
    for (let i = 0; i < 1_000_000; i++) {
      const ms = Math.floor(random() * 253_402_300_800_000);
      const expected = new Date(ms).toISOString();
      if (isoTime(ms) !== expected) expect(isoTime(ms)).toBe(expected);
    }
  });

  it("writes every instant of a few days right, however often their day was written before", () => {
    const random = seededRandom(7);
    const start = Date.parse("2026-11-20T00:00:00.000Z");
    for (let i = 0; i < 200_000; i++) {
      const ms = start + Math.floor(random() * 5 * 86_400_000);
      const expected = new Date(ms).toISOString();
      if (isoTime(ms) !== expected) expect(isoTime(ms)).toBe(expected);
    }
  });

  it("gets the edges right: the epoch, leap days, year and century ends, the last millisecond of 9999", () => {
    for (const text of [
      "1970-01-01T00:00:00.000Z",
      "2000-02-29T23:59:59.999Z",
      "2024-02-29T12:00:00.000Z",
      "2100-03-01T00:00:00.000Z",
      "2026-12-31T23:59:59.999Z",
      "9999-12-31T23:59:59.999Z",
    ]) {
      expect(isoTime(Date.parse(text))).toBe(text);
    }
  });

  it("defers to Date outside its range", () => {
    expect(isoTime(-1)).toBe("1969-12-31T23:59:59.999Z");
    expect(isoTime(1.5)).toBe(new Date(1.5).toISOString());
  });
});
