/**
 * The one option parser of the benchmarks and their child processes: each declares its options
 * once (a zod schema, a value name, a line of help), and both the parsing and the `--help` text
 * come from that declaration.
 */
import { parseArgs } from "node:util";
import { z } from "zod";

export interface OptionSpec {
  /** Checks and converts the value; its `.default()` is the default, printed in the help. */
  schema: z.ZodType;
  /** What the option takes, as the help names it (`N`, `sqlite|postgres|both`); none: a switch. */
  value?: string;
  help: string;
  /** Leave the default out of the help (one that depends on the environment, say). */
  hideDefault?: boolean;
}

export type OptionSpecs = Record<string, OptionSpec>;

export type Options<T extends OptionSpecs> = { [K in keyof T]: z.output<T[K]["schema"]> };

/** A bad command line: the caller prints the message and the usage, and exits 2. */
export class UsageError extends Error {}

/** An integer option's schema, from `min` to `max`: add `.default()` unless it must be given. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.coerce.number().int().min(min).max(max);
}

/** An option that takes no value: present or not. */
export function switchOption(help: string) {
  return { schema: z.boolean().default(false), help } satisfies OptionSpec;
}

/** The TCP port a child server listens on, as every server of the benchmarks declares it. */
export const PORT_OPTION = {
  schema: integer(1, 65_535),
  value: "PORT",
  help: "port to listen on, on 127.0.0.1",
} satisfies OptionSpec;

/**
 * Parses `argv` into the declared options: unknown options and positional arguments are refused,
 * and each value is checked and converted by its schema (in declaration order, which is the
 * order of the returned object's keys).
 */
export function parseOptions<T extends OptionSpecs>(argv: string[], specs: T): Options<T> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: Object.fromEntries(
        Object.entries(specs).map(([name, spec]) => [
          name,
          { type: spec.value === undefined ? "boolean" : "string" } as const,
        ]),
      ),
    }).values;
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const schema = z.strictObject(
    Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, s.schema])),
  );
  const parsed = schema.safeParse(values);
  if (!parsed.success) {
    throw new UsageError(
      parsed.error.issues.map((issue) => `--${issue.path.join(".")}: ${issue.message}`).join("; "),
    );
  }
  return parsed.data as Options<T>;
}

/** Where the help text wraps. */
const USAGE_WIDTH = 100;

/** An option a line, `  --name VALUE   help (default)`, the help in one column, wrapped. */
export function optionsUsage(specs: OptionSpecs): string {
  const heads = Object.entries(specs).map(
    ([name, spec]) => `  --${name}${spec.value ? ` ${spec.value}` : ""}`,
  );
  const column = Math.max(...heads.map((head) => head.length)) + 3;
  return Object.values(specs)
    .map((spec, i) => {
      const fallback = spec.hideDefault ? undefined : defaultOf(spec);
      const help = [spec.help, fallback === undefined ? "" : `(${fallback})`].filter(Boolean).join(" ");
      const lines = wrap(help, Math.max(USAGE_WIDTH - column, 30));
      return [
        `${(heads[i] as string).padEnd(column)}${lines[0] ?? ""}`,
        ...lines.slice(1).map((line) => " ".repeat(column) + line),
      ].join("\n");
    })
    .join("\n");
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return line ? [...lines, line] : lines;
}

/** The schema's default, if it has one and it is worth printing (a switch's `false` is not). */
function defaultOf(spec: OptionSpec): string | undefined {
  const parsed = spec.schema.safeParse(undefined);
  if (!parsed.success || parsed.data === undefined || parsed.data === false) return undefined;
  return String(parsed.data);
}

/**
 * For a child process's own command line (`process.argv`): `--help` prints the usage and exits 0;
 * a bad command line prints `name: message` and the usage, and exits 2.
 */
export function parseScriptOptions<T extends OptionSpecs>(name: string, specs: T): Options<T> {
  const argv = process.argv.slice(2);
  const usage = `usage: ${name} [options]\n${optionsUsage(specs)}\n`;
  if (argv.includes("--help")) {
    process.stdout.write(usage);
    process.exit(0);
  }
  try {
    return parseOptions(argv, specs);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n${usage}`);
    process.exit(2);
  }
}
