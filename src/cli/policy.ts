import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { InputError } from "../core/errors.js";
import { parsePolicyFile } from "../lifecycle/policy-file.js";
import { type Io, printJson } from "./io.js";

export function policyCommand(program: Command, io: Io): void {
  const policy = program.command("policy").summary("check policy files");
  policy
    .command("check")
    .summary("check a policy file: every error with its line and column")
    .argument("<file>", "the YAML policy file")
    .option("--json", "print {ok, errors} or {ok, policies, channels} as JSON")
    .action(async (file: string, flags: { json?: boolean }) => {
      let text: string;
      try {
        text = readFileSync(file, "utf8");
      } catch (error) {
        const reason = (error as { code?: string }).code === "ENOENT" ? "does not exist" : "cannot be read";
        throw new InputError(`${file} ${reason}`);
      }
      const result = parsePolicyFile(text, io.env);
      if (!result.ok) {
        if (flags.json) printJson(io, { ok: false, errors: result.errors });
        else for (const e of result.errors) io.err(`${file}:${e.line}:${e.column}: ${e.message}\n`);
        throw new PolicyCheckFailed(`${file}: ${result.errors.length} error(s)`);
      }
      const { policies, channels } = result.file;
      if (flags.json) return printJson(io, { ok: true, policies, channels: Object.keys(channels) });
      io.out(`${file}: ${policies.length} policies, ${Object.keys(channels).length} channels: ok\n`);
    });
}

/** The file was read and is wrong: its errors are printed already; the CLI exits 1. */
export class PolicyCheckFailed extends Error {
  override name = "PolicyCheckFailed";
}
