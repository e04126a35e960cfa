import type { Config } from "../config.js";

/** Where a command writes and what it reads of its environment; a test can pass its own. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  /**
   * Whether stdout and stderr are terminals: colour, the age bar and progress bars are for a
   * person at one, never for a pipe or a file. Absent, both are taken to be pipes.
   */
  terminal?: { out: boolean; err: boolean };
  /** Where a progress bar redraws itself in place: stderr, when it is a terminal. */
  progressStream?: NodeJS.WriteStream;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  terminal: { out: process.stdout.isTTY === true, err: process.stderr.isTTY === true },
  progressStream: process.stderr,
};

export function printJson(io: Io, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * The configuration of the command's environment, parsed once. Loaded on first use: commands that
 * need none (`tenure drift`, `--help`) start without the schema library.
 */
export async function configOf(io: Io): Promise<Config> {
  const { configFrom } = await import("../config.js");
  return configFrom(io.env);
}
