import { describe, expect, it } from "vitest";
import { retryAfterMs } from "../../src/core/retry-after.js";
import { backoffDelay, pause } from "../../src/sdk/backoff.js";

describe("retryAfterMs", () => {
  const now = Date.parse("2026-11-01T12:00:00Z");

  it("reads delay-seconds and an HTTP-date (RFC 9110 §10.2.3)", () => {
    expect(retryAfterMs("120", now)).toBe(120_000);
    expect(retryAfterMs(" 0 ", now)).toBe(0);
    expect(retryAfterMs("Sun, 01 Nov 2026 12:00:30 GMT", now)).toBe(30_000);
    // The obsolete asctime form, which recipients must still read.
    expect(retryAfterMs("Sun Nov  1 12:01:00 2026", now)).toBe(60_000);
  });

  it("treats a date in the past as no wait, and an unreadable value as absent", () => {
    expect(retryAfterMs("Sun, 01 Nov 2026 11:00:00 GMT", now)).toBe(0);
    expect(retryAfterMs("soon", now)).toBeNull();
    expect(retryAfterMs("-5", now)).toBeNull();
    expect(retryAfterMs(null, now)).toBeNull();
  });
});

describe("backoffDelay", () => {
  it("doubles its ceiling with each attempt up to the cap, with full jitter below it", () => {
    expect([1, 2, 3, 4, 10].map((attempt) => backoffDelay(attempt, 100, 500, () => 0.999999))).toEqual([
      99, 199, 399, 499, 499,
    ]);
    expect(backoffDelay(3, 100, 500, () => 0)).toBe(0);
  });
});

describe("pause", () => {
  it("ends at once when its signal aborts", async () => {
    const controller = new AbortController();
    const started = performance.now();
    const waiting = pause(10_000, controller.signal);
    controller.abort();
    await waiting;
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
