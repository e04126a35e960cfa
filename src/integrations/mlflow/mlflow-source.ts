import { InputError } from "../../core/errors.js";
import {
  type LivePrimary,
  type ServingObservation,
  SYNC_TAGS,
  type SyncFinding,
} from "../../core/sync-plan.js";
import type { MlflowClient, MlflowRegisteredModel } from "./mlflow-client.js";
import { type MlflowMapping, needsVersions, observationsOf, tenureModelName } from "./mlflow-observations.js";

/** A progress bar's two moves the sync makes; the CLI's bar, or nothing under `serve`. */
export interface ObserveProgress {
  start(label: string, total: number): void;
  increment(by?: number): void;
}

export interface ObserveMlflowOptions {
  mapping: MlflowMapping;
  /** Only these registered models, by their MLflow names; every model when absent. */
  models?: string[];
  now: () => number;
  signal?: AbortSignal;
  progress?: ObserveProgress;
}

/** What an MLflow registry says serves, as `runSync` and the server's schedule take it. */
export interface MlflowObserved {
  observations: ServingObservation[];
  findings: SyncFinding[];
  environments: string[];
  zombieScope: (live: LivePrimary) => boolean;
}

/**
 * Reads the registry (every registered model page by page, then the versions of each that has
 * one of the aliases or a version in `Production`) and says what serves. A live primary this
 * source registered whose model no longer has such a version is a zombie: its alias was removed
 * or its model deleted. Two MLflow names that make one Tenure name are never merged: the name
 * already spelled as a slug keeps it (else the first by name), the other is reported.
 */
export async function observeMlflow(
  client: MlflowClient,
  options: ObserveMlflowOptions,
): Promise<MlflowObserved> {
  const models = options.models
    ? await namedModels(client, options.models)
    : await allModels(client, options);
  const names = tenureNames(models);
  const seen = new Map<string, ServingObservation[]>();
  options.progress?.start("mlflow  ", models.length);
  for (const model of models) {
    throwIfAborted(options.signal);
    if (needsVersions(model, options.mapping)) {
      const versions = await client.modelVersions(model.name);
      const name = names.get(model.name) ?? tenureModelName(model.name);
      seen.set(model.name, observationsOf(model, versions, name, options.mapping, options.now()));
    }
    options.progress?.increment();
  }
  const observations: ServingObservation[] = [];
  const findings: SyncFinding[] = [];
  for (const model of models) {
    const owner = names.owners.get(names.get(model.name) ?? "");
    for (const observation of seen.get(model.name) ?? []) {
      if (owner === model.name) observations.push(observation);
      else findings.push(collision(observation, owner ?? "", seen.get(owner ?? "") ?? []));
    }
  }
  const selected = options.models ? new Set(models.map((m) => names.get(m.name))) : null;
  return {
    observations,
    findings,
    environments: environmentsOf(options.mapping),
    zombieScope: (live) =>
      live.tags[SYNC_TAGS.source] === "mlflow" && (selected === null || selected.has(live.model)),
  };
}

async function allModels(
  client: MlflowClient,
  options: ObserveMlflowOptions,
): Promise<MlflowRegisteredModel[]> {
  const models: MlflowRegisteredModel[] = [];
  for await (const model of client.registeredModels()) {
    throwIfAborted(options.signal);
    models.push(model);
  }
  return models;
}

async function namedModels(client: MlflowClient, names: string[]): Promise<MlflowRegisteredModel[]> {
  const models: MlflowRegisteredModel[] = [];
  for (const name of new Set(names)) {
    const model = await client.registeredModel(name);
    if (!model) throw new InputError(`MLflow at ${client.origin} has no registered model named "${name}"`);
    models.push(model);
  }
  return models;
}

/** Each MLflow name's Tenure name, and which MLflow name owns each Tenure name. */
function tenureNames(models: MlflowRegisteredModel[]) {
  const byName = new Map(models.map((m) => [m.name, tenureModelName(m.name)]));
  const owners = new Map<string, string>();
  // A name that is its own slug first, so `fraud-gbm` keeps its name whatever `Fraud GBM` does.
  const exactFirst = [...byName].sort(([a, slugA], [b, slugB]) => Number(a !== slugA) - Number(b !== slugB));
  for (const [name, slug] of exactFirst) if (!owners.has(slug)) owners.set(slug, name);
  return { get: (name: string) => byName.get(name), owners };
}

function collision(
  observation: ServingObservation,
  owner: string,
  ownerObservations: ServingObservation[],
): SyncFinding {
  const kept = ownerObservations.find((o) => o.environment === observation.environment);
  return {
    kind: "conflict",
    ref: observation.ref,
    model: observation.model,
    environment: observation.environment,
    model_version: observation.model_version,
    kept: { ref: kept?.ref ?? `models:/${owner}`, model_version: kept?.model_version ?? "none" },
  };
}

function environmentsOf(mapping: MlflowMapping): string[] {
  return [...new Set([...mapping.aliases.map((a) => a.environment), mapping.stageEnvironment])];
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new Error("the MLflow sync was stopped");
}
