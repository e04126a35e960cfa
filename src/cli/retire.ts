import type { Command } from "commander";
import { formatDuration } from "../core/duration.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, deploymentId } from "./options.js";

export function retireCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("retire")
      .summary("end a live deployment")
      .argument("<id>", "the deployment id", deploymentId)
      .option("--reason <text>", "why, for the event history")
      .option("--json", "print the deployment as JSON"),
  ).action(async (id: number, flags: DatabaseFlag & { reason?: string; json?: boolean }) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { RetireBody } = await import("../registry/registry-input.js");
    const body = parseFlags(RetireBody, { reason: flags.reason }, "the retirement is not valid");
    const client = await clientFrom(io.env, flags.database);
    try {
      const d = await client.retire(id, body.reason);
      if (flags.json) return printJson(io, d);
      if (Date.parse(d.deployment_date) > Date.parse(d.ended_at ?? d.deployment_date)) {
        io.out(
          `cancelled the scheduled promotion ${d.id} (${d.model} ${d.model_version} in ${d.environment})\n`,
        );
        return;
      }
      io.out(
        `retired deployment ${d.id} (${d.model} ${d.model_version} in ${d.environment}) after ${formatDuration(d.age.deployment_age_seconds)}\n`,
      );
    } finally {
      await client.close();
    }
  });
}
