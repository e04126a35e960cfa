import type { Command } from "commander";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
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
    // Validated before either path opens anything: the database and a server refuse alike.
    const { GoldenBody, ModelNameParams } = await import("../registry/registry-input.js");
    const body = parseFlags(
      ModelNameParams.extend(GoldenBody.shape),
      { name: model, model_version: version, environment: flags.env },
      "the golden version is not valid",
      { name: "MODEL" },
    );
    const client = await clientFrom(io.env, flags.database);
    try {
      const view = await client.setGolden(body.name, body.environment, body.model_version);
      if (flags.json) return printJson(io, view);
      io.out(`golden version of ${model} in ${flags.env} is now ${version}\n`);
    } finally {
      await client.close();
    }
  });
}
