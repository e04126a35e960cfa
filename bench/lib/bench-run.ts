/** What every benchmark shares: reading its flags, and describing the machine it ran on. */
import { cpus, totalmem } from "node:os";
import { parseArgs } from "node:util";
import type { z } from "zod";
import { round } from "./stats.js";

/**
 * Parses `argv` into the benchmark's zod flags: every flag takes a value except those named in
 * `booleans`; unknown flags are refused (strict), and zod checks and converts the values.
 */
export function parseBenchFlags<T extends z.ZodObject>(
  argv: string[],
  flags: T,
  booleans: readonly string[],
): z.infer<T> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: Object.fromEntries(
      Object.keys(flags.shape).map((name) => [
        name,
        { type: booleans.includes(name) ? "boolean" : "string" } as const,
      ]),
    ),
  });
  return flags.parse(values);
}

/** The machine a figure was measured on, for the result file. */
export function machineInfo() {
  return {
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? "unknown",
    memory_gb: round(totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}
