import { describe, expect, it } from "vitest";
import { palette } from "./palette.js";

describe("palette", () => {
  it("colours each stage and verdict while keeping its word", () => {
    const c = palette(true);
    expect(c.stage("expired", "expired")).toBe("\u001b[31mexpired\u001b[39m");
    expect(c.stage("due", "due")).toBe("\u001b[33mdue\u001b[39m");
    expect(c.verdict("keep", "keep")).toBe("\u001b[32mkeep\u001b[39m");
    expect(c.state("drifted", "drifted")).toContain("drifted");
  });

  it("returns every word as it is without colour, and leaves words it does not know plain", () => {
    const plain = palette(false);
    expect(plain.stage("expired", "expired")).toBe("expired");
    expect(plain.bad("x")).toBe("x");
    expect(palette(true).stage("retired", null)).toBe("retired");
  });
});
