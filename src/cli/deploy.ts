import type { Command } from "commander";
import type { z } from "zod";
import { formatDuration } from "../core/duration.js";
import { InputError } from "../core/errors.js";
import type { RegisterDeploymentBody } from "../registry/deployment-input.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption } from "./options.js";

interface DeployFlags extends DatabaseFlag {
  env: string;
  trainedThrough?: string;
  team?: string;
  deployedAt?: string;
  at?: string;
  endpoint?: string;
  role: string;
  tag: string[];
  idempotencyKey?: string;
  json?: boolean;
}

export function deployCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("deploy")
      .summary("register a deployment of a model version")
      .argument("<model>", "the model's name (a slug)")
      .argument("<version>", "the model version")
      .option("--env <environment>", "where it serves", "production")
      .option("--trained-through <date>", "training_data_cutoff: the newest data it learned from (required)")
      .option("--team <team>", "owner_team (required)")
      .option("--deployed-at <iso>", "deployment_date (default: now)")
      .option("--at <iso>", "schedule the promotion: the sweep makes it live at this future time")
      .option("--endpoint <url>", "where it serves")
      .option("--role <role>", "primary, shadow or canary", "primary")
      .option("--tag <key=value>", "a tag (repeatable)", (v: string, all: string[]) => [...all, v], [])
      .option("--idempotency-key <key>", "makes a retry return the first answer")
      .option("--json", "print the deployment as JSON"),
  ).action(async (model: string, version: string, flags: DeployFlags) => {
    const body = await parseBody(model, version, flags);
    const client = await clientFrom(io.env, flags.database);
    try {
      const { deployment, replayed } = await client.register(body, flags.idempotencyKey);
      if (flags.json) return printJson(io, deployment);
      const note = replayed ? " (already registered with this idempotency key)" : "";
      if (deployment.status === "scheduled") {
        io.out(
          `scheduled ${deployment.model} ${deployment.model_version} for ${deployment.environment} as ${deployment.role} ` +
            `at ${deployment.deployment_date}: deployment ${deployment.id}; the sweep promotes it then${note}\n`,
        );
        return;
      }
      io.out(
        `deployed ${deployment.model} ${deployment.model_version} to ${deployment.environment} as ${deployment.role}: ` +
          `deployment ${deployment.id}, data age ${formatDuration(deployment.age.data_age_seconds)}${note}\n`,
      );
    } finally {
      await client.close();
    }
  });
}

async function parseBody(
  model: string,
  version: string,
  flags: DeployFlags,
): Promise<z.infer<typeof RegisterDeploymentBody>> {
  const tags: Record<string, string> = {};
  for (const tag of flags.tag) {
    const at = tag.indexOf("=");
    if (at < 1)
      throw new InputError("--tag must be key=value", [{ field: "--tag", message: "must be key=value" }]);
    tags[tag.slice(0, at)] = tag.slice(at + 1);
  }
  const input = {
    model,
    model_version: version,
    training_data_cutoff: flags.trainedThrough,
    owner_team: flags.team,
    environment: flags.env,
    deployment_date: flags.deployedAt,
    scheduled_at: flags.at,
    role: flags.role,
    endpoint: flags.endpoint,
    tags: flags.tag.length ? tags : undefined,
  };
  // zod loads with the one command that needs it, not with every start of the CLI.
  const { RegisterDeploymentBody } = await import("../registry/deployment-input.js");
  // Named by their API fields, as a server names them: main.ts writes both as flags.
  return parseFlags(RegisterDeploymentBody, input, "the deployment is not valid");
}
