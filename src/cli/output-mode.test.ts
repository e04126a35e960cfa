import { describe, expect, it } from "vitest";
import { outputMode, showsProgress } from "./output-mode.js";

describe("outputMode", () => {
  it("colours and draws on a terminal, neither in a pipe", () => {
    expect(outputMode({ TERM: "xterm" }, true)).toEqual({ color: true, drawings: true });
    expect(outputMode({ TERM: "xterm" }, false)).toEqual({ color: false, drawings: false });
  });

  it("turns colour off for NO_COLOR set and non-empty, and keeps the drawings (they are not colour)", () => {
    expect(outputMode({ NO_COLOR: "1" }, true)).toEqual({ color: false, drawings: true });
    expect(outputMode({ NO_COLOR: "" }, true)).toEqual({ color: true, drawings: true });
  });

  it("lets NO_COLOR win over FORCE_COLOR", () => {
    expect(outputMode({ NO_COLOR: "1", FORCE_COLOR: "1" }, true).color).toBe(false);
  });

  it("draws as on a terminal in a pipe under FORCE_COLOR, and FORCE_COLOR=0 turns colour off", () => {
    expect(outputMode({ FORCE_COLOR: "1" }, false)).toEqual({ color: true, drawings: true });
    expect(outputMode({ FORCE_COLOR: "0" }, true)).toEqual({ color: false, drawings: true });
    expect(outputMode({ FORCE_COLOR: "" }, false)).toEqual({ color: false, drawings: false });
  });

  it("treats TERM=dumb as a terminal that shows plain text", () => {
    expect(outputMode({ TERM: "dumb" }, true)).toEqual({ color: false, drawings: false });
  });
});

describe("showsProgress", () => {
  it("draws a progress bar only on a real terminal, never in a pipe, even under FORCE_COLOR", () => {
    expect(showsProgress({ TERM: "xterm" }, true)).toBe(true);
    expect(showsProgress({ FORCE_COLOR: "1" }, false)).toBe(false);
    expect(showsProgress({ TERM: "dumb" }, true)).toBe(false);
  });
});
