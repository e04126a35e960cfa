import {
  type LivePrimary,
  type ServingObservation,
  SYNC_TAGS,
  type SyncFinding,
} from "../../core/sync-plan.js";

/**
 * What `tenure sync sagemaker` read of one region: the Model Registry's versioned model packages
 * and the endpoints, down to the SageMaker Model each production variant runs. Plain data, so the
 * mapping below is pure and the reader alone speaks to AWS.
 */
export interface SagemakerSnapshot {
  region: string;
  /** The one model package group read (`--group`), or null when every group was read. */
  group: string | null;
  /** The versioned model packages of the groups read, by lowercased ARN. */
  packages: Map<string, PackageFacts>;
  endpoints: EndpointFacts[];
}

export interface PackageFacts {
  arn: string;
  group: string;
  version: number;
  /** `ModelApprovalStatus`: `Approved`, `PendingManualApproval` or `Rejected`. */
  approval: string;
  /** Epoch ms. */
  created_at: number;
  /** `CustomerMetadataProperties`, read (DescribeModelPackage) only for packages that serve. */
  metadata: Record<string, string> | null;
}

/** Endpoint states in which it serves the config it had while another is rolled out or back. */
export const BUSY_STATUSES = ["Updating", "SystemUpdating", "RollingBack", "UpdateRollbackFailed"];

export interface EndpointFacts {
  name: string;
  arn: string;
  /** `EndpointStatus`. */
  status: string;
  created_at: number;
  last_modified_at: number;
  /** Read only for an endpoint in service; null when its config no longer exists. */
  config: ConfigFacts | null;
  config_name: string | null;
}

export interface ConfigFacts {
  name: string;
  created_at: number;
  variants: VariantFacts[];
}

export interface VariantFacts {
  name: string;
  /** `CurrentWeight` from DescribeEndpoint; null when SageMaker did not say. */
  weight: number | null;
  /** `DeployedImages[].SpecifiedImage`: what the variant's containers run. */
  images: string[];
  model_name: string;
  /** Null when the SageMaker Model no longer exists (an endpoint keeps serving a deleted one). */
  model: ModelFacts | null;
}

export interface ModelFacts {
  name: string;
  created_at: number;
  containers: ContainerFacts[];
}

export interface ContainerFacts {
  /** `ModelPackageName`: the ARN (or, unversioned, the name) of the package it was made from. */
  model_package: string | null;
  image: string | null;
  model_data_url: string | null;
}

/** What one sync found serving, ready for `applySync`. */
export interface SagemakerObserved {
  observations: ServingObservation[];
  findings: SyncFinding[];
  environments: string[];
  /** Synced deployments of this region (and group) that this read is the whole truth for. */
  zombieScope: (live: LivePrimary) => boolean;
}

/** The metadata keys read from a package's `CustomerMetadataProperties`. */
export const METADATA_KEYS = {
  owner_team: "owner_team",
  training_data_cutoff: "training_data_cutoff",
} as const;

/**
 * Maps what serves to model versions: each production variant of an endpoint in service runs a
 * SageMaker Model, whose containers name the model package they were made from. An approved
 * package of the Model Registry is an observation (model: its group, model version: its version);
 * anything else that serves is a ghost. Variants are observed heaviest first, so when two say
 * different versions of one model serve, the one taking most traffic is kept and the other is
 * reported as a conflict.
 */
export function observeSnapshot(snapshot: SagemakerSnapshot, environment: string): SagemakerObserved {
  const observations: ServingObservation[] = [];
  const findings: SyncFinding[] = [];
  // Endpoints that serve what cannot be read now (a config or Model deleted under them) or that
  // are rolling a config out or back: what was synced from them is not judged a zombie.
  const unsure = new Set(
    snapshot.endpoints.filter((e) => BUSY_STATUSES.includes(e.status)).map((e) => e.arn.toLowerCase()),
  );
  const served = snapshot.endpoints
    .filter((e) => e.status === "InService")
    .flatMap((endpoint) => {
      if (endpoint.config === null) {
        unsure.add(endpoint.arn.toLowerCase());
        if (snapshot.group === null) findings.push(configGone(endpoint, environment));
        return [];
      }
      const config = endpoint.config;
      return config.variants.map((variant) => ({ endpoint, config, variant }));
    })
    .sort(
      (a, b) =>
        (b.variant.weight ?? 0) - (a.variant.weight ?? 0) ||
        a.endpoint.name.localeCompare(b.endpoint.name) ||
        a.variant.name.localeCompare(b.variant.name),
    );
  for (const serving of served) {
    const observed = observeVariant(snapshot, environment, serving);
    observations.push(...observed.observations);
    findings.push(...observed.findings);
    if (observed.unsure) unsure.add(serving.endpoint.arn.toLowerCase());
  }
  return {
    observations,
    findings,
    environments: [environment],
    zombieScope: (live) => inScope(live, snapshot, unsure),
  };
}

interface Serving {
  endpoint: EndpointFacts;
  config: ConfigFacts;
  variant: VariantFacts;
}

/**
 * What one production variant serves: an observation per approved registry package its Model's
 * containers were made from, a ghost for anything else. With `--group`, what belongs to other
 * groups (or to none) is not this sync's business and is passed over in silence.
 */
function observeVariant(
  snapshot: SagemakerSnapshot,
  environment: string,
  { endpoint, config, variant }: Serving,
): { observations: ServingObservation[]; findings: SyncFinding[]; unsure: boolean } {
  const observations: ServingObservation[] = [];
  const findings: SyncFinding[] = [];
  const ref = `${endpoint.arn}/${variant.name}`;
  const everyGroup = snapshot.group === null;
  const ghost = (model: string, model_version: string | null, detail: string) =>
    findings.push({ kind: "ghost", ref, model, environment, model_version, detail });
  const model = variant.model;
  if (model === null) {
    if (everyGroup) {
      ghost(
        slugOf(variant.model_name),
        null,
        `SageMaker Model "${variant.model_name}" no longer exists: which package it serves cannot be read`,
      );
    }
    return { observations, findings, unsure: true };
  }
  const references = model.containers.flatMap((c) => (c.model_package ? [c.model_package] : []));
  if (references.length === 0 && everyGroup) ghost(slugOf(model.name), null, notFromPackage(model, variant));
  for (const reference of references) {
    const named = packageNameOf(reference);
    if (!everyGroup && named.group?.toLowerCase() !== snapshot.group?.toLowerCase()) continue;
    const found = snapshot.packages.get(reference.toLowerCase());
    if (!found) {
      ghost(
        slugOf(named.group ?? reference),
        named.version,
        `serves model package ${reference}, which the Model Registry in ${snapshot.region} does not know`,
      );
    } else if (found.approval !== "Approved") {
      ghost(
        slugOf(found.group),
        String(found.version),
        `serves ${found.group} version ${found.version}, which is ${found.approval} in the Model Registry, not Approved`,
      );
    } else {
      observations.push(observationOf(found, { ref, environment, endpoint, config, model }));
    }
  }
  return { observations, findings, unsure: false };
}

function observationOf(
  found: PackageFacts,
  seen: { ref: string; environment: string; endpoint: EndpointFacts; config: ConfigFacts; model: ModelFacts },
): ServingObservation {
  const metadata = found.metadata ?? {};
  return {
    source: "sagemaker",
    ref: seen.ref,
    model: slugOf(found.group),
    model_version: String(found.version),
    environment: seen.environment,
    owner_team: present(metadata[METADATA_KEYS.owner_team]),
    training_data_cutoff: present(metadata[METADATA_KEYS.training_data_cutoff]),
    // SageMaker keeps no record of when an endpoint began serving a config: LastModifiedTime
    // also moves when weights, instance counts or autoscaling change, so it would understate
    // the age. Nothing can serve before the package, the Model, the endpoint config and the
    // endpoint all exist, so the latest of their creation times is the earliest it can have
    // served: the age is never understated, and a fresh config per deployment (the usual way)
    // brings it within minutes of the truth.
    since: Math.max(
      found.created_at,
      seen.model.created_at,
      seen.config.created_at,
      seen.endpoint.created_at,
    ),
    basis: "version_created",
  };
}

/**
 * A synced deployment this read is the whole truth for: registered by a SageMaker sync from an
 * endpoint of this region (of the group read, with `--group`), unless that endpoint is `unsure`:
 * it still serves, and what cannot be told now is not called dead.
 */
function inScope(live: LivePrimary, snapshot: SagemakerSnapshot, unsure: Set<string>): boolean {
  if (live.tags[SYNC_TAGS.source] !== "sagemaker") return false;
  const endpoint = endpointArnOf(live.tags[SYNC_TAGS.ref] ?? "");
  if (endpoint === null || endpoint.split(":")[3] !== snapshot.region) return false;
  if (snapshot.group !== null && live.model !== slugOf(snapshot.group)) return false;
  return !unsure.has(endpoint);
}

/** The endpoint's ARN in a reference `arn:aws:sagemaker:R:A:endpoint/NAME/VARIANT`, lowercased. */
export function endpointArnOf(ref: string): string | null {
  const match = /^(arn:[^:]+:sagemaker:[^:]+:[^:]*:endpoint\/[^/]+)\//i.exec(ref);
  return match?.[1] ? match[1].toLowerCase() : null;
}

/** The group and version in a versioned package's ARN (`…:model-package/fraud-gbm/3`), as far as it says. */
function packageNameOf(reference: string): { group: string | null; version: string | null } {
  const match = /:model-package\/([^/]+)(?:\/(\d+))?$/i.exec(reference);
  if (!match) return { group: null, version: null };
  return match[2] ? { group: match[1] ?? null, version: match[2] } : { group: null, version: null };
}

function notFromPackage(model: ModelFacts, variant: VariantFacts): string {
  const images = variant.images.length > 0 ? variant.images : model.containers.flatMap((c) => c.image ?? []);
  const artifacts = model.containers.flatMap((c) => c.model_data_url ?? []);
  const what = [
    ...(images.length > 0 ? [`image ${images.join(", ")}`] : []),
    ...(artifacts.length > 0 ? [`artifact ${artifacts.join(", ")}`] : []),
  ];
  return `SageMaker Model "${model.name}" was not made from a model package${what.length > 0 ? ` (${what.join("; ")})` : ""}`;
}

function configGone(endpoint: EndpointFacts, environment: string): SyncFinding {
  return {
    kind: "ghost",
    ref: endpoint.arn,
    model: slugOf(endpoint.name),
    environment,
    model_version: null,
    detail: `endpoint config "${endpoint.config_name ?? ""}" no longer exists: what the endpoint serves cannot be read`,
  };
}

/** SageMaker names hold letters, digits and hyphens: lowercased, each is a Tenure slug. */
export function slugOf(name: string): string {
  return name.toLowerCase();
}

function present(value: string | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}
