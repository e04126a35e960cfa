/**
 * What a sync (MLflow, SageMaker, Kubernetes) decides from what a system says serves and what the
 * registry holds live: which deployments to register, which observations change nothing, and what
 * to report. Pure: the caller reads both sides and carries the plan out.
 */

/** The systems a sync reads. */
export const SYNC_SOURCES = ["mlflow", "sagemaker", "kubernetes"] as const;
export type SyncSource = (typeof SYNC_SOURCES)[number];

/**
 * How a deployment's date is known:
 * - `exact`: the system told the moment (a webhook's delivery, a rollout's Available condition);
 * - `discovered`: a sync found it changed since the last look, so it is no later than this;
 * - `version_created`: first seen serving with no record of when it started, so the version's
 *   creation time stands in, the earliest it can have served: its age is never understated.
 */
export const DATE_BASES = ["exact", "discovered", "version_created"] as const;
export type DateBasis = (typeof DATE_BASES)[number];

/** The tags a synced deployment carries, so anyone can tell where it came from and how its date is known. */
export const SYNC_TAGS = {
  source: "tenure.dev/source",
  ref: "tenure.dev/source-ref",
  basis: "tenure.dev/deployment-date-basis",
} as const;

/** What a system says serves: one model version in one environment, with the metadata it carries. */
export interface ServingObservation {
  source: SyncSource;
  /** Where it was seen, in the system's own terms: `models:/fraud-gbm@champion`, `endpoint/fraud-prod`. */
  ref: string;
  model: string;
  model_version: string;
  environment: string;
  /** Null when the system does not carry it: then the version is reported, never registered. */
  owner_team: string | null;
  /** ISO 8601 as the system gave it, or null when it does not carry it. */
  training_data_cutoff: string | null;
  /** Epoch ms: when it started serving, as well as `basis` says it is known. */
  since: number;
  basis: DateBasis;
  endpoint?: string;
  /**
   * Where the system keeps each mandatory field, as a person must be told to set it
   * ("tag `team` (owner_team)"): a missing_metadata finding names these rather than Tenure's fields.
   */
  metadata_hints?: Partial<Record<MetadataField, string>>;
}

/** The mandatory fields a system may not carry. */
export type MetadataField = "owner_team" | "training_data_cutoff";

/** The registry's live primary of a model in an environment, as the plan needs it. */
export interface LivePrimary {
  id: number;
  model: string;
  environment: string;
  model_version: string;
  deployment_date: number;
  /** The deployment's tags: which source registered it, if any. */
  tags: Record<string, string>;
}

export interface PlannedRegistration {
  observation: ServingObservation;
  /** The live primary it supersedes, if any. */
  supersedes: { id: number; model_version: string } | null;
  /** Epoch ms: the deployment date to register. */
  deployment_date: number;
  basis: DateBasis;
}

export type SyncFinding =
  | {
      kind: "missing_metadata";
      ref: string;
      model: string;
      model_version: string;
      missing: MetadataField[];
      /** What to set for each missing field, in the system's terms, when the sync said so. */
      hints?: string[];
    }
  | {
      kind: "conflict";
      ref: string;
      model: string;
      environment: string;
      model_version: string;
      /** The observation that won, by the order the sync gave them. */
      kept: { ref: string; model_version: string };
    }
  | {
      kind: "ghost";
      ref: string;
      model: string;
      environment: string;
      model_version: string | null;
      detail: string;
    }
  | {
      kind: "zombie";
      ref: string;
      deployment_id: number;
      model: string;
      environment: string;
      model_version: string;
    }
  | {
      kind: "version_mismatch";
      ref: string;
      deployment_id: number;
      model: string;
      environment: string;
      registered_version: string;
      serving_version: string;
    };

export interface SyncPlan {
  register: PlannedRegistration[];
  unchanged: ServingObservation[];
  findings: SyncFinding[];
}

export interface PlanOptions {
  /** Epoch ms: the time of this sync, the date of a change it discovers. */
  now: number;
  /**
   * Live primaries this sync is the whole truth for: one of them with no observation is a zombie
   * (registered live, nothing serving it). Absent: no zombies are judged.
   */
  zombieScope?: (live: LivePrimary) => boolean;
}

/**
 * Plans a sync. Observations come in order of preference: when two say different versions serve
 * one model in one environment (an alias and the legacy `Production` stage), the first is kept and
 * the other reported. An observation of the live version changes nothing; one of another version
 * is registered, superseding it, unless it lacks mandatory metadata, which is reported with what
 * is missing and never invented.
 */
export function planSync(
  observations: readonly ServingObservation[],
  live: readonly LivePrimary[],
  options: PlanOptions,
): SyncPlan {
  const liveByKey = new Map(live.map((l) => [keyOf(l), l]));
  const kept = new Map<string, ServingObservation>();
  const plan: SyncPlan = { register: [], unchanged: [], findings: [] };
  for (const observation of observations) {
    const key = keyOf(observation);
    const first = kept.get(key);
    if (first) {
      if (first.model_version !== observation.model_version) plan.findings.push(conflict(observation, first));
      continue;
    }
    kept.set(key, observation);
    const current = liveByKey.get(key);
    if (current?.model_version === observation.model_version) {
      plan.unchanged.push(observation);
      continue;
    }
    const missing = missingOf(observation);
    if (missing.length > 0) {
      plan.findings.push({
        kind: "missing_metadata",
        ref: observation.ref,
        model: observation.model,
        model_version: observation.model_version,
        missing,
        ...(observation.metadata_hints
          ? { hints: missing.map((field) => observation.metadata_hints?.[field] ?? field) }
          : {}),
      });
      continue;
    }
    plan.register.push(registrationOf(observation, current, options.now));
  }
  if (options.zombieScope) {
    for (const l of live) {
      if (!kept.has(keyOf(l)) && options.zombieScope(l)) {
        plan.findings.push({
          kind: "zombie",
          ref: l.tags[SYNC_TAGS.ref] ?? `${l.model}@${l.environment}`,
          deployment_id: l.id,
          model: l.model,
          environment: l.environment,
          model_version: l.model_version,
        });
      }
    }
  }
  return plan;
}

function registrationOf(
  observation: ServingObservation,
  current: LivePrimary | undefined,
  now: number,
): PlannedRegistration {
  const supersedes = current ? { id: current.id, model_version: current.model_version } : null;
  // A version's creation time stands in only for a first sight: once another version was live,
  // the change happened after that one started, so the sync's own time is the honest bound.
  const fallback = observation.basis === "version_created" && current !== undefined;
  let date = fallback ? now : Math.min(observation.since, now);
  let basis: DateBasis = fallback ? "discovered" : observation.basis;
  // A successor cannot have started before the deployment it supersedes.
  if (current && date < current.deployment_date) {
    date = now;
    basis = "discovered";
  }
  return { observation, supersedes, deployment_date: date, basis };
}

function missingOf(observation: ServingObservation): MetadataField[] {
  const missing: MetadataField[] = [];
  if (observation.owner_team === null || observation.owner_team === "") missing.push("owner_team");
  if (observation.training_data_cutoff === null || observation.training_data_cutoff === "") {
    missing.push("training_data_cutoff");
  }
  return missing;
}

function conflict(observation: ServingObservation, first: ServingObservation): SyncFinding {
  return {
    kind: "conflict",
    ref: observation.ref,
    model: observation.model,
    environment: observation.environment,
    model_version: observation.model_version,
    kept: { ref: first.ref, model_version: first.model_version },
  };
}

function keyOf(o: { model: string; environment: string }): string {
  return `${o.model}\u0000${o.environment}`;
}
