import type { Command } from "commander";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption } from "./options.js";

interface RollbackFlags extends DatabaseFlag {
  env: string;
  to?: string;
  reason?: string;
  json?: boolean;
}

export function rollbackCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("rollback")
      .summary("make the golden (or a named) version the live primary again")
      .argument("<model>", "the model")
      .option("--env <environment>", "the environment", "production")
      .option("--to <version>", "roll back to this version instead of the golden one")
      .option("--reason <text>", "why, for the event history")
      .option("--json", "print {deployment, rolled_back} as JSON"),
  ).action(async (model: string, flags: RollbackFlags) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { ModelNameParams, RollbackBody } = await import("../registry/registry-input.js");
    const body = parseFlags(
      ModelNameParams.extend(RollbackBody.shape),
      { name: model, environment: flags.env, to_version: flags.to, reason: flags.reason },
      "the rollback is not valid",
      { name: "MODEL" },
    );
    const client = await clientFrom(io.env, flags.database);
    try {
      const result = await client.rollback(body.name, body.environment, body.to_version, body.reason);
      if (flags.json) return printJson(io, result);
      const from = result.rolled_back
        ? `from ${result.rolled_back.model_version} (deployment ${result.rolled_back.id}) `
        : "";
      io.out(
        `rolled ${model} in ${flags.env} back ${from}to ${result.deployment.model_version}: deployment ${result.deployment.id}\n`,
      );
    } finally {
      await client.close();
    }
  });
}
