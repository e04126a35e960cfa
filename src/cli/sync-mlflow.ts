import { type Command, InvalidArgumentError, Option } from "commander";
import { InputError } from "../core/errors.js";
import type { MetadataField } from "../core/sync-plan.js";
import type { MlflowMapping } from "../integrations/mlflow/mlflow-observations.js";
import { SLUG_PATTERN } from "../registry/deployment-words.js";
import { egressPolicyOf } from "./egress-flag.js";
import { configOf, type Io } from "./io.js";
import { runSync, type SyncFlags, syncOptions } from "./sync.js";

interface MlflowFlags extends SyncFlags {
  url?: string;
  token?: string;
  alias?: AliasFlag[];
  environment: string;
  env?: string;
  mapTag?: Partial<Record<MetadataField, string>>;
  model?: string[];
}

interface AliasFlag {
  alias: string;
  environment?: string;
}

const METADATA_FIELDS: readonly MetadataField[] = ["owner_team", "training_data_cutoff"];

/** `tenure sync mlflow`: the versions MLflow's aliases (and legacy Production stage) point to become deployments. */
export function syncMlflowCommand(sync: Command, io: Io): void {
  const command = sync
    .command("mlflow")
    .summary("learn deployments from an MLflow model registry's aliases and Production stage")
    .description(
      "Each registered model's version under the alias (champion by default) becomes the primary deployment in the environment; without the alias, the newest version in the legacy Production stage does. owner_team and training_data_cutoff come from tags on the version, else on the registered model; a version without them is reported, never registered.",
    )
    .option(
      "--url <url>",
      "the MLflow tracking server (default: $TENURE_MLFLOW_URL, else $MLFLOW_TRACKING_URI)",
    )
    .option(
      "--token <token>",
      "bearer token (default: $TENURE_MLFLOW_TOKEN, else MLflow's own $MLFLOW_TRACKING_TOKEN or $MLFLOW_TRACKING_USERNAME and $MLFLOW_TRACKING_PASSWORD)",
    )
    .option(
      "--alias <alias[=environment]>",
      "an alias whose version serves, in --environment or the one named; repeat in order of preference (default: champion)",
      collectAlias,
    )
    .option("--environment <name>", "where the versions serve", slugFlag("--environment"), "production")
    // The other commands' name for it.
    .addOption(new Option("--env <name>").argParser(slugFlag("--env")).hideHelp())
    .option(
      "--map-tag <field=tag,...>",
      "the MLflow tags that carry owner_team and training_data_cutoff (default: tags of those names)",
      collectMapTag,
    )
    .option(
      "--model <name>",
      "only this registered model, by its MLflow name (repeatable)",
      collect,
      undefined,
    );
  syncOptions(command).action(async (flags: MlflowFlags) => {
    const config = await configOf(io);
    const url = flags.url ?? config.mlflowUrl ?? trackingUri(io.env);
    if (!url) {
      throw new InputError("sync mlflow needs --url (or TENURE_MLFLOW_URL, or MLflow's MLFLOW_TRACKING_URI)");
    }
    assertMlflowUrl("--url", url);
    const mapping = mappingOf(flags);
    // Loaded when it runs: every CLI start loads this module, and these load zod.
    const { MlflowClient, mlflowCredentials } = await import("../integrations/mlflow/mlflow-client.js");
    const { observeMlflow } = await import("../integrations/mlflow/mlflow-source.js");
    const credentials = mlflowCredentials(flags.token ?? config.mlflowToken, io.env);
    const egress = await egressPolicyOf(flags, config);
    await runSync(io, "mlflow", flags, ({ signal, progress }) =>
      observeMlflow(new MlflowClient({ url, credentials, outbound: { signal, egress } }), {
        mapping,
        models: flags.model,
        now: Date.now,
        signal,
        progress,
      }),
    );
  });
}

function mappingOf(flags: MlflowFlags): MlflowMapping {
  const environment = flags.env ?? flags.environment;
  const aliases = flags.alias ?? [{ alias: "champion" }];
  return {
    aliases: aliases.map((a) => ({ alias: a.alias, environment: a.environment ?? environment })),
    stageEnvironment: environment,
    tags: {
      owner_team: flags.mapTag?.owner_team ?? "owner_team",
      training_data_cutoff: flags.mapTag?.training_data_cutoff ?? "training_data_cutoff",
    },
  };
}

/** MLflow's own setting, when it names an HTTP server (it may also be `databricks` or a folder). */
function trackingUri(env: NodeJS.ProcessEnv): string | undefined {
  const uri = env.MLFLOW_TRACKING_URI;
  return uri && checkMlflowUrl(uri) === null ? uri : undefined;
}

/**
 * Refuses an MLflow URL that is not http(s) or that carries credentials, since a URL is printed
 * in messages and logs where a password must never be. Checked here rather than by commander,
 * whose message would repeat the value.
 */
export function assertMlflowUrl(name: string, value: string): void {
  const problem = checkMlflowUrl(value);
  if (problem) throw new InputError(`${name} ${problem}`);
}

/** What is wrong with an MLflow URL, or null. */
export function checkMlflowUrl(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return "must be an http:// or https:// URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http:// or https:// URL";
  if (url.username || url.password) {
    return "must not carry credentials: set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, or a token";
  }
  return null;
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function collectAlias(value: string, previous: AliasFlag[] | undefined): AliasFlag[] {
  const [alias = "", environment] = value.split("=", 2);
  // MLflow's alias names: letters, digits, `_` and `-`.
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(alias)) {
    throw new InvalidArgumentError(
      "--alias must be an MLflow alias (letters, digits, _ and -), optionally =environment",
    );
  }
  if (environment !== undefined && !SLUG_PATTERN.test(environment)) {
    throw new InvalidArgumentError(`--alias ${alias}=${environment}: the environment must be a slug`);
  }
  return [...(previous ?? []), { alias, environment }];
}

function collectMapTag(
  value: string,
  previous: Partial<Record<MetadataField, string>> | undefined,
): Partial<Record<MetadataField, string>> {
  const mapped = { ...previous };
  for (const pair of value.split(",")) {
    const [field = "", tag = ""] = pair.split("=", 2).map((part) => part.trim());
    if (!(METADATA_FIELDS as readonly string[]).includes(field) || tag === "") {
      throw new InvalidArgumentError(
        `--map-tag takes ${METADATA_FIELDS.map((f) => `${f}=TAG`).join(",")}; "${pair}" is not one of them`,
      );
    }
    mapped[field as MetadataField] = tag;
  }
  return mapped;
}

function slugFlag(name: string) {
  return (value: string): string => {
    if (!SLUG_PATTERN.test(value)) {
      throw new InvalidArgumentError(`${name} must be a slug: lowercase letters, digits, '.', '_' or '-'`);
    }
    return value;
  };
}
