import { Command, CommanderError } from "commander";
import { type FieldIssue, InputError } from "../core/errors.js";
import { VERSION } from "../version.js";
import { alertsCommand } from "./alerts.js";
import { checkCommand } from "./check.js";
import { RemoteError } from "./client.js";
import { deliveriesCommand } from "./deliveries.js";
import { demoCommand } from "./demo.js";
import { deployCommand } from "./deploy.js";
import { driftCommand } from "./drift.js";
import { goldenCommand } from "./golden.js";
import { type Io, processIo } from "./io.js";
import { lsCommand } from "./ls.js";
import { policyCommand } from "./policy.js";
import { retireCommand } from "./retire.js";
import { reviewCommand } from "./review.js";
import { rollbackCommand } from "./rollback.js";
import { serveCommand } from "./serve.js";
import { showCommand } from "./show.js";
import { sweepCommand } from "./sweep.js";
import { tokenCommand } from "./token.js";

/** Exit codes: 0 done, 1 failed, 2 the command or its input is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function buildProgram(io: Io): Command {
  const program = new Command("tenure")
    .description(
      "Tracks how long every ML model has served, how old its data is, and whether it still performs.",
    )
    .version(VERSION)
    .configureOutput(output(io))
    .configureHelp({ helpWidth: 120 })
    .exitOverride();
  serveCommand(program, io);
  deployCommand(program, io);
  lsCommand(program, io);
  showCommand(program, io);
  reviewCommand(program, io);
  retireCommand(program, io);
  goldenCommand(program, io);
  rollbackCommand(program, io);
  sweepCommand(program, io);
  alertsCommand(program, io);
  deliveriesCommand(program, io);
  checkCommand(program, io);
  driftCommand(program, io);
  policyCommand(program, io);
  tokenCommand(program, io);
  demoCommand(program, io);
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
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    io.err(`tenure: ${messageOf(error)}\n`);
    return exitCodeOf(error);
  }
}

function messageOf(error: unknown): string {
  const issues: FieldIssue[] =
    error instanceof InputError || error instanceof RemoteError ? error.issues : [];
  const message = error instanceof Error ? error.message : String(error);
  if (issues.length === 0) return message;
  return issues.map((i) => `${i.field} ${i.message}`).join("; ");
}

function exitCodeOf(error: unknown): number {
  const badInput = error instanceof InputError || (error instanceof RemoteError && error.status === 400);
  return badInput ? EXIT.usage : EXIT.failed;
}
