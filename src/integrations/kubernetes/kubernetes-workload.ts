import { z } from "zod";
import type { DateBasis } from "../../core/sync-plan.js";
import { SLUG_PATTERN } from "../../registry/deployment-words.js";
import {
  ENVIRONMENT_ANNOTATION,
  MODEL_LABEL,
  MODEL_VERSION_ANNOTATION,
  OWNER_TEAM_ANNOTATION,
  TRAINING_DATA_CUTOFF_ANNOTATION,
} from "./workload-metadata.js";

/**
 * What a labelled Kubernetes workload says of the model it serves, read from the object the API
 * answers (a list's item or a watch event's object): pure, so a list and a watch read alike.
 */

/** The kinds a sync reads, where the API serves them. KServe's is a CRD: a cluster may lack it. */
export const WORKLOAD_KINDS = {
  Deployment: { group: "apps", version: "v1", plural: "deployments", optional: false },
  StatefulSet: { group: "apps", version: "v1", plural: "statefulsets", optional: false },
  InferenceService: {
    group: "serving.kserve.io",
    version: "v1beta1",
    plural: "inferenceservices",
    optional: true,
  },
} as const;
export { MODEL_LABEL };
export type WorkloadKind = keyof typeof WORKLOAD_KINDS;
export const WORKLOAD_KIND_NAMES = Object.keys(WORKLOAD_KINDS) as WorkloadKind[];

/** The annotations that carry the rest of a deployment's metadata (DESIGN.md), by field. */
export const ANNOTATIONS = {
  model_version: MODEL_VERSION_ANNOTATION,
  training_data_cutoff: TRAINING_DATA_CUTOFF_ANNOTATION,
  owner_team: OWNER_TEAM_ANNOTATION,
  environment: ENVIRONMENT_ANNOTATION,
} as const;

/** Where a workload's rollout stands. */
export type Rollout =
  /** Every replica runs the current spec and is available: it serves, since `since`. */
  | { state: "available"; since: number; basis: Extract<DateBasis, "exact" | "discovered"> }
  /** A rollout under way: registered once it is available. */
  | { state: "progressing"; detail: string }
  /** A rollout the controller gave up on (a Deployment past its progress deadline). */
  | { state: "failed"; detail: string }
  /** Serves nothing: scaled to zero, or being deleted. */
  | { state: "idle"; detail: string };

export interface Workload {
  kind: WorkloadKind;
  /** `deployment/ml/fraud-gbm`: the deployment's `tenure.dev/source-ref`. */
  ref: string;
  namespace: string;
  model: string;
  environment: string;
  model_version: string | null;
  owner_team: string | null;
  training_data_cutoff: string | null;
  /** An InferenceService's URL. */
  endpoint?: string;
  rollout: Rollout;
}

/** A workload's reference: its kind, namespace and name. */
export function workloadRef(kind: WorkloadKind, namespace: string, name: string): string {
  return `${kind.toLowerCase()}/${namespace}/${name}`;
}

/** The kind and namespace of a reference made by `workloadRef`, or null for any other text. */
export function parseWorkloadRef(ref: string): { kind: WorkloadKind; namespace: string } | null {
  const [kind, namespace, name, ...rest] = ref.split("/");
  const known = WORKLOAD_KIND_NAMES.find((k) => k.toLowerCase() === kind);
  if (!known || !namespace || !name || rest.length > 0) return null;
  return { kind: known, namespace };
}

const Condition = z.object({
  type: z.string(),
  status: z.string(),
  reason: z.string().optional(),
  message: z.string().optional(),
  lastUpdateTime: z.string().optional(),
  lastTransitionTime: z.string().optional(),
});
type Condition = z.infer<typeof Condition>;

const replicas = () => z.number().int().min(0).optional();

/** The fields of a Deployment, StatefulSet or InferenceService a sync reads; the rest is ignored. */
const WorkloadObject = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().min(1).optional(),
    generation: z.number().int().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
    ownerReferences: z
      .array(z.object({ kind: z.string(), name: z.string(), controller: z.boolean().optional() }))
      .optional(),
  }),
  spec: z.object({ replicas: replicas() }).optional(),
  status: z
    .object({
      observedGeneration: z.number().int().optional(),
      replicas: replicas(),
      updatedReplicas: replicas(),
      readyReplicas: replicas(),
      availableReplicas: replicas(),
      currentRevision: z.string().optional(),
      updateRevision: z.string().optional(),
      conditions: z.array(Condition).optional(),
      url: z.string().optional(),
    })
    .optional(),
});
type WorkloadObject = z.infer<typeof WorkloadObject>;

export type ReadOutcome = { workload: Workload } | { skipped: string };

/**
 * Reads one object of `kind`. `environment` is where a workload serves when it has no
 * `tenure.dev/environment` annotation; `now` dates a rollout whose object says no time. An object
 * that cannot serve as a workload of a model is skipped with the reason.
 */
export function readWorkload(
  kind: WorkloadKind,
  object: unknown,
  options: { environment: string; now: number },
): ReadOutcome {
  const parsed = WorkloadObject.safeParse(object);
  if (!parsed.success) {
    const name = nameOf(object);
    return {
      skipped: `a ${kind}${name ? ` ${name}` : ""} that cannot be read: ${parsed.error.issues[0]?.message}`,
    };
  }
  const o = parsed.data;
  const namespace = o.metadata.namespace ?? "default";
  const ref = workloadRef(kind, namespace, o.metadata.name);
  const model = o.metadata.labels?.[MODEL_LABEL] ?? "";
  if (model === "") return { skipped: `${ref}: its ${MODEL_LABEL} label is empty: no model to name` };
  const owner = o.metadata.ownerReferences?.find((r) => r.controller === true);
  if (owner) {
    // An operator's workload (KServe's or Knative's Deployment) is read where it is declared.
    return { skipped: `${ref}: managed by ${owner.kind} ${owner.name}, read there` };
  }
  const annotations = o.metadata.annotations ?? {};
  const environment = annotations[ANNOTATIONS.environment] ?? options.environment;
  if (!SLUG_PATTERN.test(environment)) {
    return { skipped: `${ref}: ${ANNOTATIONS.environment} "${environment}" is not an environment's name` };
  }
  const url = o.status?.url;
  return {
    workload: {
      kind,
      ref,
      namespace,
      model,
      environment,
      model_version: present(annotations[ANNOTATIONS.model_version]),
      owner_team: present(annotations[ANNOTATIONS.owner_team]),
      training_data_cutoff: present(annotations[ANNOTATIONS.training_data_cutoff]),
      ...(kind === "InferenceService" && url && /^https?:\/\//.test(url) ? { endpoint: url } : {}),
      rollout: rolloutOf(kind, o, options.now),
    },
  };
}

/** The annotations a workload lacks to be registered, by name. */
export function missingAnnotations(w: Workload): string[] {
  return [
    ...(w.model_version === null ? [ANNOTATIONS.model_version] : []),
    ...(w.training_data_cutoff === null ? [ANNOTATIONS.training_data_cutoff] : []),
    ...(w.owner_team === null ? [ANNOTATIONS.owner_team] : []),
  ];
}

function rolloutOf(kind: WorkloadKind, o: WorkloadObject, now: number): Rollout {
  if (o.metadata.deletionTimestamp) return { state: "idle", detail: "being deleted" };
  switch (kind) {
    case "Deployment":
      return deploymentRollout(o, now);
    case "StatefulSet":
      return statefulSetRollout(o, now);
    case "InferenceService":
      return inferenceServiceRollout(o, now);
  }
}

/**
 * A Deployment's rollout is complete as `kubectl rollout status` judges it: the controller has
 * seen the current spec, every desired replica is updated and available, and no old replica is
 * left. The moment it became so is the `Progressing` condition's last update with reason
 * `NewReplicaSetAvailable`: the controller writes it once, when the new ReplicaSet is available,
 * and leaves it until the next change. Without a progress deadline there is no `Progressing`
 * condition, and `Available`'s last transition stands in (it stays True through a rolling update
 * that keeps enough replicas up, so it can be older than the rollout: the sync plan never dates a
 * successor before the deployment it supersedes).
 */
function deploymentRollout(o: WorkloadObject, now: number): Rollout {
  const status = o.status ?? {};
  const desired = o.spec?.replicas ?? 1;
  if ((status.observedGeneration ?? 0) < (o.metadata.generation ?? 0)) {
    return { state: "progressing", detail: "the controller has not acted on the latest spec yet" };
  }
  const progressing = conditionOf(status.conditions, "Progressing");
  if (progressing?.status === "False" && progressing.reason === "ProgressDeadlineExceeded") {
    return { state: "failed", detail: `rollout failed: ${progressing.message ?? progressing.reason}` };
  }
  if (desired === 0) return { state: "idle", detail: "scaled to zero" };
  const updated = status.updatedReplicas ?? 0;
  const total = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (updated < desired) return { state: "progressing", detail: `${updated} of ${desired} replicas updated` };
  if (total > updated) {
    return { state: "progressing", detail: `${total - updated} old replicas pending termination` };
  }
  if (available < updated) {
    return { state: "progressing", detail: `${available} of ${updated} updated replicas available` };
  }
  const done =
    progressing?.status === "True" && progressing.reason === "NewReplicaSetAvailable"
      ? timeOf(progressing.lastUpdateTime ?? progressing.lastTransitionTime)
      : undefined;
  const availableSince =
    progressing === undefined
      ? timeOf(trueCondition(status.conditions, "Available")?.lastTransitionTime)
      : undefined;
  return availableSince === undefined && done === undefined
    ? discoveredAt(now)
    : { state: "available", since: done ?? availableSince ?? now, basis: "exact" };
}

/**
 * A StatefulSet has no rollout condition: it is rolled out when the controller has seen the
 * current spec, the update revision has become the current one and every replica is ready. When
 * that happened no field says, so it is dated by the sync that sees it (`--watch` sees it as it
 * happens).
 */
function statefulSetRollout(o: WorkloadObject, now: number): Rollout {
  const status = o.status ?? {};
  const desired = o.spec?.replicas ?? 1;
  if ((status.observedGeneration ?? 0) < (o.metadata.generation ?? 0)) {
    return { state: "progressing", detail: "the controller has not acted on the latest spec yet" };
  }
  if (desired === 0) return { state: "idle", detail: "scaled to zero" };
  const updated = status.updatedReplicas ?? 0;
  const ready = status.readyReplicas ?? 0;
  if (status.updateRevision !== undefined && status.updateRevision !== status.currentRevision) {
    return { state: "progressing", detail: `${updated} of ${desired} replicas updated` };
  }
  if (ready < desired) return { state: "progressing", detail: `${ready} of ${desired} replicas ready` };
  return discoveredAt(now);
}

/**
 * An InferenceService serves when its `Ready` condition is True; KServe sets it back to Unknown
 * or False while a new revision rolls out, so its last transition to True is when the current
 * spec became ready. `Ready` False is also how a new one starts (KServe's own debugging guide
 * shows it), so it is a rollout under way, not a failure.
 */
function inferenceServiceRollout(o: WorkloadObject, now: number): Rollout {
  const status = o.status ?? {};
  const ready = conditionOf(status.conditions, "Ready");
  if (ready?.status !== "True") {
    const why = ready?.reason ? `: ${ready.reason}${ready.message ? `: ${ready.message}` : ""}` : "";
    return { state: "progressing", detail: `not ready${why}` };
  }
  if (status.observedGeneration !== undefined && status.observedGeneration < (o.metadata.generation ?? 0)) {
    return { state: "progressing", detail: "the controller has not acted on the latest spec yet" };
  }
  const since = timeOf(ready.lastTransitionTime);
  return since === undefined ? discoveredAt(now) : { state: "available", since, basis: "exact" };
}

function discoveredAt(now: number): Rollout {
  return { state: "available", since: now, basis: "discovered" };
}

function conditionOf(conditions: Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

function trueCondition(conditions: Condition[] | undefined, type: string): Condition | undefined {
  const condition = conditionOf(conditions, type);
  return condition?.status === "True" ? condition : undefined;
}

function timeOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

function present(value: string | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}

function nameOf(object: unknown): string | undefined {
  const metadata = (object as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  if (typeof metadata?.name !== "string") return undefined;
  return typeof metadata.namespace === "string" ? `${metadata.namespace}/${metadata.name}` : metadata.name;
}
