import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  integer,
  optionsUsage,
  parseOptions,
  switchOption,
  UsageError,
} from "../../bench/lib/bench-options.js";

const OPTIONS = {
  dialect: { schema: z.enum(["sqlite", "postgres", "both"]).default("both"), value: "D", help: "" },
  count: { schema: integer(1_000, 1_000_000).default(100_000), value: "N", help: "registrations" },
  profile: switchOption("profile the server"),
};

describe("the benchmarks' option parser", () => {
  it("gives every declared option its default, in declaration order, when none is given", () => {
    const flags = parseOptions([], OPTIONS);
    expect(flags).toEqual({ dialect: "both", count: 100_000, profile: false });
    expect(Object.keys(flags)).toEqual(["dialect", "count", "profile"]);
  });

  it("converts values by their schema and takes switches without a value", () => {
    expect(parseOptions(["--count", "2000", "--profile", "--dialect", "sqlite"], OPTIONS)).toEqual({
      dialect: "sqlite",
      count: 2_000,
      profile: true,
    });
  });

  it.each([
    [["--count", "5"], /--count: Too small/],
    [["--dialect", "mysql"], /--dialect: /],
    [["--bogus", "1"], /Unknown option '--bogus'/],
    [["stray"], /positional argument/],
  ])("refuses %j with a usage error naming the problem", (argv, message) => {
    expect(() => parseOptions(argv, OPTIONS)).toThrow(UsageError);
    expect(() => parseOptions(argv, OPTIONS)).toThrow(message);
  });

  it("prints each option's help from its declaration, with its default", () => {
    expect(optionsUsage(OPTIONS).split("\n")).toEqual([
      "  --dialect D   (both)",
      "  --count N     registrations (100000)",
      "  --profile     profile the server",
    ]);
  });
});
