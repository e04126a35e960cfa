import { createHash } from "node:crypto";
import type { MetadataField, ServingObservation } from "../../core/sync-plan.js";
import { instant } from "../../registry/deployment-input.js";
import { SLUG_PATTERN } from "../../registry/deployment-words.js";
import type { MlflowModelVersion, MlflowRegisteredModel } from "./mlflow-client.js";

/** What of an MLflow registry means "serving", and where its metadata is kept. */
export interface MlflowMapping {
  /**
   * Aliases in order of preference, each with the environment the version it points to serves in.
   * The first alias of an environment wins; another pointing elsewhere is reported as a conflict.
   */
  aliases: { alias: string; environment: string }[];
  /** Where a version in the legacy `Production` stage serves; it counts after every alias. */
  stageEnvironment: string;
  /** The MLflow tag (on the version, else on the registered model) that carries each field. */
  tags: Record<MetadataField, string>;
}

export const DEFAULT_MLFLOW_ALIAS = "champion";

/** `champion` serves in production, as does a version in the `Production` stage; tags named as Tenure's fields. */
export function defaultMlflowMapping(environment = "production"): MlflowMapping {
  return {
    aliases: [{ alias: DEFAULT_MLFLOW_ALIAS, environment }],
    stageEnvironment: environment,
    tags: { owner_team: "owner_team", training_data_cutoff: "training_data_cutoff" },
  };
}

const PRODUCTION_STAGE = "production";
const HINT_VALUE_MAX = 60;

/**
 * The Tenure name of an MLflow registered model. MLflow takes any name (`Fraud GBM`,
 * `main.risk.fraud_gbm`, `Modèle`); Tenure's are slugs. So: accents dropped, lowercase, every run
 * of other characters one `-`, cut to 128 characters. A name with nothing left (all symbols or
 * another script) becomes `mlflow-` and 12 hex digits of its SHA-256: stable, and the MLflow name
 * stays in each deployment's `tenure.dev/source-ref` tag.
 */
export function tenureModelName(mlflowName: string): string {
  return slugOf(mlflowName) ?? `mlflow-${createHash("sha256").update(mlflowName).digest("hex").slice(0, 12)}`;
}

/** The slug of a name, or null when nothing of it is left. */
function slugOf(name: string): string | null {
  const slug = name
    .normalize("NFKD")
    .replace(/\p{M}+/gu, "")
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, "-")
    .replace(/^[._-]+/, "")
    .slice(0, 128)
    .replace(/[._-]+$/, "");
  return SLUG_PATTERN.test(slug) ? slug : null;
}

/**
 * Whether a model's versions must be read: when one of the aliases is set, when a version is in
 * the Production stage, or when the server did not say which versions lead each stage. A large
 * registry's many models with neither cost no request.
 */
export function needsVersions(model: MlflowRegisteredModel, mapping: MlflowMapping): boolean {
  if (model.latest_versions === null) return true;
  if (model.aliases.some((a) => mapping.aliases.some((m) => m.alias === a.alias))) return true;
  return model.latest_versions.some((v) => isProduction(v));
}

/**
 * What one registered model says serves: for each environment, the version each alias points to,
 * in the mapping's order, then the newest version in the `Production` stage (what
 * `models:/NAME/Production` resolves to). A version seen twice in one environment is observed once.
 * Its date is the version's creation, the earliest it can have served; planSync turns that into
 * the time of discovery when another version was live before.
 */
export function observationsOf(
  model: MlflowRegisteredModel,
  versions: readonly MlflowModelVersion[],
  name: string,
  mapping: MlflowMapping,
  now: number,
): ServingObservation[] {
  const byNumber = new Map(versions.map((v) => [v.version, v]));
  const seen = new Set<string>();
  const observations: ServingObservation[] = [];
  const observe = (version: MlflowModelVersion, environment: string, ref: string) => {
    const key = `${environment}\u0000${version.version}`;
    if (seen.has(key)) return;
    seen.add(key);
    observations.push(observationOf(model, version, name, environment, ref, mapping, now));
  };
  for (const { alias, environment } of mapping.aliases) {
    const number =
      model.aliases.find((a) => a.alias === alias)?.version ??
      versions.find((v) => v.aliases.includes(alias))?.version;
    const version = number === undefined ? undefined : byNumber.get(number);
    if (version) observe(version, environment, `models:/${model.name}@${alias}`);
  }
  const production = newest(versions.filter(isProduction));
  if (production) observe(production, mapping.stageEnvironment, `models:/${model.name}/Production`);
  return observations;
}

function observationOf(
  model: MlflowRegisteredModel,
  version: MlflowModelVersion,
  name: string,
  environment: string,
  ref: string,
  mapping: MlflowMapping,
  now: number,
): ServingObservation {
  // A version's own tag overrides the registered model's: a team set on the model holds for all.
  const tags = { ...model.tags, ...version.tags };
  const owner = ownerOf(tags[mapping.tags.owner_team]);
  const cutoff = cutoffOf(tags[mapping.tags.training_data_cutoff]);
  const hints: Partial<Record<MetadataField, string>> = {};
  if (owner === null) hints.owner_team = hintOf(mapping.tags.owner_team, "owner_team", "a slug", tags);
  if (cutoff === null) {
    hints.training_data_cutoff = hintOf(
      mapping.tags.training_data_cutoff,
      "training_data_cutoff",
      "an ISO 8601 date",
      tags,
    );
  }
  const created = version.creation_timestamp;
  return {
    source: "mlflow",
    ref,
    model: name,
    model_version: version.version,
    environment,
    owner_team: owner,
    training_data_cutoff: cutoff,
    // Without a creation time, the sync's own time is the only honest bound.
    since: created ?? now,
    basis: created === null ? "discovered" : "version_created",
    metadata_hints: hints,
  };
}

/** A team as a slug, as model names are made (`Risk Team` is `risk-team`); null when none is left. */
function ownerOf(value: string | undefined): string | null {
  if (value === undefined || value.trim() === "") return null;
  return slugOf(value.trim());
}

/** The cutoff as the registry takes it (a date, or a date-time with an offset); never guessed. */
function cutoffOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  const text = value.trim();
  return instant().safeParse(text).success ? text : null;
}

/** "tag `team` (owner_team)" (the field left out when the tag is named as it), or, when the tag is set to something unusable, what it must be instead. */
function hintOf(tag: string, field: MetadataField, shape: string, tags: Record<string, string>): string {
  const value = tags[tag];
  const named = tag === field ? `tag \`${tag}\`` : `tag \`${tag}\` (${field})`;
  if (value === undefined || value.trim() === "") return named;
  const shown = value.length > HINT_VALUE_MAX ? `${value.slice(0, HINT_VALUE_MAX)}…` : value;
  return `${named} as ${shape}, not ${JSON.stringify(shown)}`;
}

function isProduction(version: MlflowModelVersion): boolean {
  return version.current_stage?.toLowerCase() === PRODUCTION_STAGE;
}

/** The highest version number: MLflow numbers a model's versions 1, 2, 3, … */
function newest(versions: MlflowModelVersion[]): MlflowModelVersion | undefined {
  let best: MlflowModelVersion | undefined;
  for (const v of versions) {
    if (!best || Number(v.version) > Number(best.version)) best = v;
  }
  return best;
}
