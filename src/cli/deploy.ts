import { type Command, InvalidArgumentError } from "commander";
import type { z } from "zod";
import { formatDuration } from "../core/duration.js";
import { InputError } from "../core/errors.js";
import type { RegisterDeploymentBody } from "../registry/deployment-input.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, durationFlag, positiveInt } from "./options.js";

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
  weight?: number;
  stickyHeader?: string;
  steps?: number[];
  interval?: number;
  failureLimit?: number;
  minRequests?: number;
  minLabels?: number;
  inconclusiveLimit?: number;
  maxErrorRateIncrease?: number;
  maxP99Ratio?: number;
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
      .option(
        "--weight <percent>",
        "canary: percent of the model's requests it answers",
        positiveInt("--weight", 100),
      )
      .option(
        "--sticky-header <name>",
        "canary: requests with the same value of this header stay on one side",
      )
      .option(
        "--steps <list>",
        "canary: weights to walk through as analyses pass, e.g. 10,25,50,100",
        stepList,
      )
      .option(
        "--interval <duration>",
        "canary: time between analyses (default 1m)",
        durationFlag("--interval"),
      )
      .option(
        "--failure-limit <n>",
        "canary: failed analyses that roll it back (default 3)",
        positiveInt("--failure-limit"),
      )
      .option(
        "--min-requests <n>",
        "canary: fewer requests per side make an analysis inconclusive (default 100)",
        positiveInt("--min-requests"),
      )
      .option(
        "--min-labels <n>",
        "canary: labelled requests per side before labels are weighed (default 30)",
        positiveInt("--min-labels"),
      )
      .option(
        "--inconclusive-limit <n>",
        "canary: inconclusive analyses in a row that pause it (default 5)",
        positiveInt("--inconclusive-limit"),
      )
      .option(
        "--max-error-rate-increase <fraction>",
        "canary: the error-rate increase over the primary's that fails it (default 0.01)",
        fractionFlag("--max-error-rate-increase"),
      )
      .option(
        "--max-p99-ratio <x>",
        "canary: its p99 fails above the primary's times this plus 5 ms (default 1.2)",
        ratioFlag("--max-p99-ratio"),
      )
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
      const canary = body.canary;
      if (canary) {
        const steps = canary.steps ? `, promoted through ${canary.steps.join(" → ")} as analyses pass` : "";
        io.out(
          `  it answers ${canary.weight ?? canary.steps?.[0]}% of requests, analysed every ` +
            `${formatDuration(canary.interval_seconds)}${steps}: tenure canary ${deployment.model}\n`,
        );
      }
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
    canary: canaryOf(flags),
  };
  // zod loads with the one command that needs it, not with every start of the CLI.
  const { RegisterDeploymentBody } = await import("../registry/deployment-input.js");
  // Named by their API fields, as a server names them: main.ts writes both as flags.
  return parseFlags(RegisterDeploymentBody, input, "the deployment is not valid");
}

/** The canary settings the flags give, or undefined when they give none. */
function canaryOf(flags: DeployFlags): Record<string, unknown> | undefined {
  const canary = {
    weight: flags.weight,
    sticky_header: flags.stickyHeader,
    steps: flags.steps,
    interval_seconds: flags.interval,
    failure_limit: flags.failureLimit,
    min_requests: flags.minRequests,
    min_labels: flags.minLabels,
    inconclusive_limit: flags.inconclusiveLimit,
    max_error_rate_increase: flags.maxErrorRateIncrease,
    max_p99_ratio: flags.maxP99Ratio,
  };
  return Object.values(canary).some((v) => v !== undefined) ? canary : undefined;
}

function stepList(value: string): number[] {
  const steps = value.split(",").map((s) => s.trim());
  if (!steps.every((s) => /^\d{1,3}$/.test(s) && Number(s) >= 1 && Number(s) <= 100)) {
    throw new InvalidArgumentError(
      "--steps must be percents from 1 to 100 separated by commas, such as 10,25,50,100",
    );
  }
  return steps.map(Number);
}

function fractionFlag(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d*\.?\d+$/.test(value) || !(n >= 0 && n <= 1)) {
      throw new InvalidArgumentError(`${name} must be a fraction from 0 to 1, such as 0.01`);
    }
    return n;
  };
}

function ratioFlag(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d*\.?\d+$/.test(value) || !(n >= 1 && n <= 100)) {
      throw new InvalidArgumentError(`${name} must be a number from 1 to 100, such as 1.2`);
    }
    return n;
  };
}
