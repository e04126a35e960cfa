import type { Command } from "commander";
import { clientFrom } from "./client.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption } from "./options.js";

export function goldenCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("golden")
      .summary("set the golden version of a model: its known-good rollback target")
      .argument("<model>", "the model")
      .argument("<version>", "a version of it that has been registered")
      .option("--env <environment>", "the environment", "production")
      .option("--json", "print the model as JSON"),
  ).action(async (model: string, version: string, flags: DatabaseFlag & { env: string; json?: boolean }) => {
    const client = await clientFrom(io.env, flags.database);
    try {
      const view = await client.setGolden(model, flags.env, version);
      if (flags.json) return printJson(io, view);
      io.out(`golden version of ${model} in ${flags.env} is now ${version}\n`);
    } finally {
      await client.close();
    }
  });
}
