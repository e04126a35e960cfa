import { Command, CommanderError } from "commander";
import { type FieldIssue, InputError } from "../core/errors.js";
import { VERSION } from "../version.js";
import { ChildExited } from "./child-exited.js";
import { inFlagTerms, withFlagNames } from "./flag-names.js";
import { type Io, processIo } from "./io.js";
import { RemoteError } from "./remote-error.js";

/** Exit codes: 0 done, 1 failed, 2 the command or its input is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

type Register = (program: Command, io: Io) => void;

/**
 * Every command, in the order help lists them, each behind an import of its module: a run of one
 * command loads that command's module and no other's (`tenure drift` need not load the HTTP
 * client, the registry's words or the token hashing).
 */
const COMMANDS: ReadonlyArray<readonly [name: string, load: () => Promise<Register>]> = [
  ["init", async () => (await import("./init.js")).initCommand],
  ["serve", async () => (await import("./serve.js")).serveCommand],
  ["gateway", async () => (await import("./gateway.js")).gatewayCommand],
  ["deploy", async () => (await import("./deploy.js")).deployCommand],
  ["ls", async () => (await import("./ls.js")).lsCommand],
  ["show", async () => (await import("./show.js")).showCommand],
  ["review", async () => (await import("./review.js")).reviewCommand],
  ["retire", async () => (await import("./retire.js")).retireCommand],
  ["golden", async () => (await import("./golden.js")).goldenCommand],
  ["rollback", async () => (await import("./rollback.js")).rollbackCommand],
  ["canary", async () => (await import("./canary.js")).canaryCommand],
  ["sweep", async () => (await import("./sweep.js")).sweepCommand],
  ["alerts", async () => (await import("./alerts.js")).alertsCommand],
  ["deliveries", async () => (await import("./deliveries.js")).deliveriesCommand],
  ["check", async () => (await import("./check.js")).checkCommand],
  ["report", async () => (await import("./report.js")).reportCommand],
  ["gate", async () => (await import("./gate.js")).gateCommand],
  ["drift", async () => (await import("./drift.js")).driftCommand],
  ["shadow", async () => (await import("./shadow.js")).shadowCommand],
  ["ghosts", async () => (await import("./ghosts.js")).ghostsCommand],
  ["sync", async () => (await import("./sync-command.js")).syncCommand()],
  ["policy", async () => (await import("./policy.js")).policyCommand],
  ["token", async () => (await import("./token.js")).tokenCommand],
  ["audit", async () => (await import("./audit.js")).auditCommand],
  ["backup", async () => (await import("./backup.js")).backupCommand],
  ["restore", async () => (await import("./restore.js")).restoreCommand],
  ["prune", async () => (await import("./prune.js")).pruneCommand],
  ["demo", async () => (await import("./demo.js")).demoCommand],
];

/**
 * The program with every command, or with only `commandName` when it names one: what runs is the
 * same, since commander dispatches on that name; `--help`, `--version` and anything unknown get
 * the whole program, so help lists every command and a typo is reported as before.
 */
export async function buildProgram(io: Io, commandName?: string): Promise<Command> {
  const program = new Command("tenure")
    .description(
      "Tracks how long every ML model has served, how old its data is, and whether it still performs.",
    )
    .version(VERSION)
    .configureOutput(output(io))
    .configureHelp({ helpWidth: 120 })
    .exitOverride();
  const named = COMMANDS.filter(([name]) => name === commandName);
  const registers = await Promise.all((named.length > 0 ? named : COMMANDS).map(([, load]) => load()));
  for (const register of registers) register(program, io);
  const configure = (command: Command) => {
    command.exitOverride().configureOutput(output(io)).configureHelp({ helpWidth: 120 });
    command.commands.forEach(configure);
  };
  program.commands.forEach(configure);
  return program;
}

/** Commander's own errors (unknown option, bad argument) read like every other: one `tenure:` line. */
function output(io: Io) {
  return {
    writeOut: io.out,
    writeErr: io.err,
    outputError: (text: string, write: (text: string) => void) =>
      write(`tenure: ${text.replace(/^error: /, "").trimEnd()} (see --help)\n`),
  };
}

/** Runs the CLI and resolves to its exit code; every error becomes one line on stderr. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  // argv is process.argv: the node binary, the script, then the command's name.
  const program = await buildProgram(io, argv[2]);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    // A command that ran in a child process (`tenure gateway`): the child has said it all.
    if (error instanceof ChildExited) return error.code;
    io.err(`tenure: ${messageOf(error)}\n`);
    return exitCodeOf(error);
  }
}

/** Bad input, refused here or by a server, in the CLI's words: its flags, not the API's fields. */
function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (!isBadInput(error)) return message;
  const issues: FieldIssue[] = error.issues.map(inFlagTerms);
  if (issues.length === 0) return withFlagNames(message);
  return issues.map((i) => `${i.field} ${i.message}`).join("; ");
}

function isBadInput(error: unknown): error is InputError | RemoteError {
  return error instanceof InputError || (error instanceof RemoteError && error.status === 400);
}

function exitCodeOf(error: unknown): number {
  return isBadInput(error) ? EXIT.usage : EXIT.failed;
}
