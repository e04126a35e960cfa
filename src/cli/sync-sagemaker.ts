import { type Command, InvalidArgumentError } from "commander";
import { InputError } from "../core/errors.js";
import { SLUG_PATTERN } from "../registry/deployment-words.js";
import { egressPolicyOf } from "./egress-flag.js";
import { configOf, type Io } from "./io.js";
import { runSync, type SyncFlags, syncOptions } from "./sync.js";

interface SagemakerFlags extends SyncFlags {
  region?: string;
  group?: string;
  endpointUrl?: string;
  environment: string;
}

/** AWS region names: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/** Model package group names, as SageMaker's API constrains them. */
const GROUP = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/**
 * `tenure sync sagemaker`: the endpoints of one region and what they serve, matched against the
 * SageMaker Model Registry. The AWS SDK is loaded only when the command runs.
 */
export function syncSagemakerCommand(sync: Command, io: Io): void {
  syncOptions(
    sync
      .command("sagemaker")
      .summary("learn deployments from SageMaker endpoints serving Model Registry packages")
      .description(
        "Reads the SageMaker Model Registry and every endpoint in service in one region: a production variant\n" +
          "serving an approved model package version is a deployment (model: the package group; version: the\n" +
          "package version; owner_team and training_data_cutoff: its customer metadata properties). What serves\n" +
          "without an approved registry package is a ghost; what was synced and serves no more is a zombie.\n" +
          "Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, SSO, a role).",
      )
      .option("--region <region>", "the AWS region (default: $AWS_REGION, then $AWS_DEFAULT_REGION)", region)
      .option("--group <name>", "only this model package group and the endpoints serving it", group)
      .option(
        "--endpoint-url <url>",
        "a SageMaker API endpoint other than AWS's (a VPC endpoint, a test server)",
        url,
      )
      .option("--environment <name>", "the environment the endpoints serve in", environment, "production"),
  ).action(async (flags: SagemakerFlags) => {
    const regionName = regionOf(flags, io.env);
    // The SDK warns on Node 20 that its releases from 2027 will need Node 22: news for whoever
    // upgrades the pinned dependency (DESIGN.md), not a line on every sync's stderr. The SDK
    // reads the switch from the process's environment, which io.env is when the CLI runs.
    io.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const { readSagemaker, sagemakerClient, SAGEMAKER_MAX_ATTEMPTS } = await import(
      "../integrations/sagemaker/sagemaker-reader.js"
    );
    const { observeSnapshot } = await import("../integrations/sagemaker/sagemaker-observations.js");
    const client = sagemakerClient({
      region: regionName,
      endpoint: flags.endpointUrl,
      maxAttempts: maxAttemptsOf(io.env) ?? SAGEMAKER_MAX_ATTEMPTS,
      egress: await egressPolicyOf(flags, await configOf(io)),
    });
    try {
      await runSync(io, "sagemaker", flags, async ({ signal, progress }) => {
        const snapshot = await readSagemaker(client, {
          region: regionName,
          group: flags.group,
          signal,
          onEndpoint: (done, total) => {
            if (done === 0 && total > 0) progress.start("reading endpoints", total);
            else progress.update(done);
          },
        });
        progress.stop();
        return observeSnapshot(snapshot, flags.environment);
      });
    } finally {
      client.destroy();
    }
  });
}

function regionOf(flags: SagemakerFlags, env: NodeJS.ProcessEnv): string {
  if (flags.region) return flags.region;
  const fromEnv = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!fromEnv) {
    throw new InputError("--region is required (or set AWS_REGION)", [
      { field: "--region", message: "is required (or set AWS_REGION)" },
    ]);
  }
  if (!REGION.test(fromEnv)) {
    throw new InputError(`AWS_REGION must be a region such as us-east-1, not ${JSON.stringify(fromEnv)}`);
  }
  return fromEnv;
}

/** `AWS_MAX_ATTEMPTS`, as the AWS SDKs and CLI read it, when it is a sensible whole number. */
function maxAttemptsOf(env: NodeJS.ProcessEnv): number | undefined {
  const n = Number(env.AWS_MAX_ATTEMPTS);
  return Number.isInteger(n) && n >= 1 && n <= 20 ? n : undefined;
}

function region(value: string): string {
  if (!REGION.test(value)) throw new InvalidArgumentError("--region must be a region such as us-east-1");
  return value;
}

function group(value: string): string {
  if (!GROUP.test(value)) {
    throw new InvalidArgumentError(
      "--group must be a model package group name: letters, digits and hyphens, at most 63 characters",
    );
  }
  return value;
}

function url(value: string): string {
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new InvalidArgumentError("--endpoint-url must be an http:// or https:// URL");
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new InvalidArgumentError("--endpoint-url must be an http:// or https:// URL");
  }
  return value;
}

function environment(value: string): string {
  if (!SLUG_PATTERN.test(value)) {
    throw new InvalidArgumentError(
      "--environment must be a slug: lowercase letters, digits, '.', '_' or '-', at most 128 characters",
    );
  }
  return value;
}
