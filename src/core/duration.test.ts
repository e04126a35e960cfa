import { describe, expect, it } from "vitest";
import { formatDuration, MAX_DURATION_SECONDS, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  it.each([
    ["90d", 7_776_000],
    ["36h", 129_600],
    ["15m", 900],
    ["30s", 30],
    ["2w", 1_209_600],
    ["1.5d", 129_600],
  ])("reads %s as %i seconds", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(["", "90", "d", "-5d", "0d", "5 days", "5y", "1e3d"])("refuses %j", (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });
});

describe("formatDuration", () => {
  it.each([
    [0, "0s"],
    [59, "59s"],
    [60, "1m"],
    [3_599, "59m"],
    [3_600, "1h"],
    [86_399, "23h"],
    [86_400, "1d"],
    [41 * 86_400 + 5_000, "41d"],
    [412 * 86_400, "412d"],
  ])("writes %i seconds as %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });
});

describe("parseDuration's upper bound", () => {
  it("takes 1000 years and refuses longer, so that no duration added to an instant leaves the range of a date", () => {
    expect(parseDuration("365000d")).toBe(MAX_DURATION_SECONDS);
    expect(parseDuration("365001d")).toBeUndefined();
    expect(parseDuration(`${"9".repeat(20)}d`)).toBeUndefined();
    expect(parseDuration(`${"9".repeat(300)}w`)).toBeUndefined();
  });
});
