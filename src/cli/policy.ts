import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { formatDuration } from "../core/duration.js";
import { InputError } from "../core/errors.js";
import { clientFrom } from "./client.js";
import { shortTime } from "./format.js";
import { type Io, printJson } from "./io.js";
import { learnedTtlLines } from "./learned-ttl-lines.js";
import {
  type DatabaseFlag,
  databaseOption,
  deploymentId,
  type PoliciesFlag,
  policiesOption,
} from "./options.js";
import { suggestCommand } from "./policy-suggest.js";

export function policyCommand(program: Command, io: Io): void {
  const policy = program
    .command("policy")
    .summary("check a policy file; explain which policy governs a deployment; suggest TTLs");
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
      const { parsePolicyFile } = await import("../lifecycle/policy-file.js");
      const result = parsePolicyFile(text, io.env);
      if (!result.ok) {
        if (flags.json) printJson(io, { ok: false, errors: result.errors });
        else for (const e of result.errors) io.err(`${file}:${e.line}:${e.column}: ${e.message}\n`);
        throw new PolicyCheckFailed(`${file}: ${result.errors.length} error(s)`);
      }
      const { policies, channels } = result.file;
      if (flags.json) return printJson(io, { ok: true, policies, channels: Object.keys(channels) });
      const count = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
      io.out(
        `${file}: ${count(policies.length, "policy").replace("policys", "policies")}, ${count(Object.keys(channels).length, "channel")}: ok\n`,
      );
    });
  explainCommand(policy, io);
  suggestCommand(policy, io);
}

function explainCommand(policy: Command, io: Io): void {
  policiesOption(
    databaseOption(
      policy
        .command("explain")
        .summary("which policy governs a deployment, why, and when it becomes due and expires")
        .argument("<id>", "the deployment id", deploymentId)
        .option("--json", "print the explanation as JSON"),
    ),
  ).action(async (id: number, flags: DatabaseFlag & PoliciesFlag & { json?: boolean }) => {
    const client = await clientFrom(io.env, flags.database, flags.policies);
    try {
      const e = await client.explain(id);
      if (flags.json) return printJson(io, e);
      const notify = Object.entries(e.notify)
        .map(([kind, channels]) => `${kind} → ${channels.join(", ")}`)
        .join("; ");
      const lines = [
        `deployment ${id} is governed by policy ${e.policy}: ${e.reason}`,
        e.exempt ? `  exempt           yes: ${e.exempt_reason}` : undefined,
        `  TTL              ${formatDuration(e.max_age_seconds)}${e.ttl_extension_seconds ? ` + ${formatDuration(e.ttl_extension_seconds)} from reviews` : ""}, review at ${Math.round(e.review_at * 100)}%`,
        `  due on           ${shortTime(e.due_at)}`,
        `  expires on       ${shortTime(e.expires_at)} (then: ${e.expire_action})`,
        e.max_data_age_seconds === null
          ? undefined
          : `  max data age     ${formatDuration(e.max_data_age_seconds)}`,
        e.silence_after_seconds === null
          ? undefined
          : `  silent after     ${formatDuration(e.silence_after_seconds)} without traffic or a heartbeat`,
        `  notify           ${notify || "nobody"}`,
        ...learnedTtlLines(e.learned_ttl),
        `  candidates       ${e.candidates.map((c) => `${c.name} (${c.matched ? `score ${c.score}` : "no match"})`).join(", ") || "none: no policy file, or no policies in it"}`,
      ];
      io.out(`${lines.filter((l) => l !== undefined).join("\n")}\n`);
    } finally {
      await client.close();
    }
  });
}

/** The file was read and is wrong: its errors are printed already; the CLI exits 1. */
export class PolicyCheckFailed extends Error {
  override name = "PolicyCheckFailed";
}
