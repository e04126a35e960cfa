import type { Command } from "commander";
import { describeAge } from "../core/age.js";
import { formatDuration } from "../core/duration.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { type Io, printJson } from "./io.js";
import {
  type DatabaseFlag,
  databaseOption,
  deploymentId,
  durationFlag,
  type PoliciesFlag,
  policiesOption,
} from "./options.js";

export function reviewCommand(program: Command, io: Io): void {
  policiesOption(
    databaseOption(
      program
        .command("review")
        .summary("review a deployment: acknowledge its age, optionally extend its TTL")
        .argument("<id>", "the deployment id", deploymentId)
        .requiredOption("--note <text>", "what you checked, for the event history")
        .option("--extend <duration>", "add this to its TTL (30d, 2w)", durationFlag("--extend"))
        .option("--json", "print the deployment as JSON"),
    ),
  ).action(
    async (
      id: number,
      flags: DatabaseFlag & PoliciesFlag & { note: string; extend?: number; json?: boolean },
    ) => {
      // Validated before either path opens anything: the database and a server refuse alike.
      const { ReviewBody } = await import("../lifecycle/lifecycle-input.js");
      const body = parseFlags(
        ReviewBody,
        { note: flags.note, extend_seconds: flags.extend },
        "the review is not valid",
      );
      const client = await clientFrom(io.env, flags.database, flags.policies);
      try {
        const d = await client.review(id, body.note, body.extend_seconds);
        if (flags.json) return printJson(io, d);
        const extended = flags.extend ? `, TTL extended by ${formatDuration(flags.extend)}` : "";
        io.out(
          `reviewed deployment ${d.id} (${d.model} ${d.model_version} in ${d.environment})${extended}: now ${describeAge(d.age)}, ${d.age.stage}\n`,
        );
      } finally {
        await client.close();
      }
    },
  );
}
