import {
  type LivePrimary,
  type ServingObservation,
  SYNC_TAGS,
  type SyncFinding,
} from "../../core/sync-plan.js";
import type { SyncPending } from "../sync-applier.js";
import type { ClusterSnapshot } from "./kubernetes-watcher.js";
import {
  missingAnnotations,
  parseWorkloadRef,
  readWorkload,
  WORKLOAD_KINDS,
  type Workload,
  type WorkloadKind,
} from "./kubernetes-workload.js";

/**
 * A snapshot of the cluster as one round's inputs (the shape `runSync` takes): its workloads
 * reconciled, with a note for each object skipped and each kind the cluster does not serve.
 */
export function observedOf(
  snapshot: ClusterSnapshot,
  scope: Omit<KubernetesScope, "absent">,
  now: number,
): Reconciliation {
  const { workloads, skipped } = workloadsOf(snapshot, scope.environment, now);
  const reconciled = reconcileWorkloads(workloads, { ...scope, absent: snapshot.absent });
  const absent = snapshot.absent.map((kind) => {
    const { group, version } = WORKLOAD_KINDS[kind];
    return `the cluster does not serve ${group}/${version} (its CRD is not installed): no ${kind} was read`;
  });
  return { ...reconciled, notes: [...absent, ...skipped, ...reconciled.notes] };
}

/**
 * What of a snapshot a sync acts on: each workload's metadata and rollout state, not its
 * replica counts or times. A watch's round runs only when this changes, so a rollout's many
 * status updates make the rounds its progress needs, not one each.
 */
export function fingerprintOf(snapshot: ClusterSnapshot, environment: string): string {
  const { workloads } = workloadsOf(snapshot, environment, 0);
  const lines = workloads.map((w) =>
    [
      w.ref,
      w.model,
      w.environment,
      w.model_version,
      w.owner_team,
      w.training_data_cutoff,
      w.rollout.state,
    ].join("\u0000"),
  );
  return [...lines.sort(), ...snapshot.absent].join("\n");
}

function workloadsOf(
  snapshot: ClusterSnapshot,
  environment: string,
  now: number,
): { workloads: Workload[]; skipped: string[] } {
  const workloads: Workload[] = [];
  const skipped: string[] = [];
  for (const { kind, object } of snapshot.objects) {
    const read = readWorkload(kind, object, { environment, now });
    if ("workload" in read) workloads.push(read.workload);
    else skipped.push(read.skipped);
  }
  return { workloads, skipped };
}

/** What one sync of a cluster covers. */
export interface KubernetesScope {
  /** The one namespace read, or null for all of them. */
  namespace: string | null;
  /** Where a workload without a `tenure.dev/environment` annotation serves. */
  environment: string;
  /** Kinds the cluster does not serve (KServe not installed): what they registered cannot be judged. */
  absent: readonly WorkloadKind[];
}

/** A cluster's workloads as the sync's inputs: what serves, what is on its way, what to compare. */
export interface Reconciliation {
  /** Workloads whose rollout is available and that carry every annotation: newest rollout first. */
  observations: ServingObservation[];
  /** Rollouts in progress or failed. */
  pending: SyncPending[];
  /** Workloads that serve nothing (scaled to zero, being deleted). */
  notes: string[];
  /** The live primaries to read: the default environment and every one a workload names. */
  environments: string[];
  /** Ghosts and version mismatches, judged against the registry's live primaries. */
  findings: (live: readonly LivePrimary[]) => SyncFinding[];
  /** Live primaries this cluster is the whole truth for: registered from its workloads, in scope. */
  zombieScope: (live: LivePrimary) => boolean;
}

/**
 * Reconciles a cluster's labelled workloads with the registry:
 * - a workload whose rollout is available and that carries its metadata serves: the sync plan
 *   registers it (superseding the live primary) or finds it unchanged;
 * - one that serves without the annotations to be registered is a ghost, unless the registry
 *   already has that version live; when the registry has another version live, that is also a
 *   version mismatch (the registry says one version serves, the cluster serves another);
 * - a rollout in progress is pending, not a finding: it is registered when it becomes available.
 *   A failed one (a Deployment past its progress deadline) whose version is not the live
 *   primary's is a version mismatch: the workload says one version, the registry another, and
 *   nothing will bring them together without someone;
 * - a live primary registered from a workload in this scope, with no workload of its model and
 *   environment left (or only ones scaled to zero), is a zombie. A rollout in progress or failed
 *   still counts as a workload: its old replicas serve on.
 */
export function reconcileWorkloads(workloads: readonly Workload[], scope: KubernetesScope): Reconciliation {
  const observations = workloads
    .flatMap((w) => observationOf(w) ?? [])
    .sort((a, b) => b.since - a.since || a.ref.localeCompare(b.ref));
  const registering = new Set(observations.map(keyOf));
  const serving = new Set(workloads.filter((w) => w.rollout.state !== "idle").map(keyOf));
  const pending: SyncPending[] = [];
  const notes: string[] = [];
  for (const w of workloads) {
    if (w.rollout.state === "progressing" || w.rollout.state === "failed") {
      pending.push({
        ref: w.ref,
        model: w.model,
        model_version: w.model_version,
        environment: w.environment,
        detail: w.rollout.detail,
      });
    } else if (w.rollout.state === "idle") {
      notes.push(`${w.ref}: ${w.rollout.detail}, serves nothing`);
    }
  }
  return {
    observations,
    pending,
    notes,
    environments: [...new Set([scope.environment, ...workloads.map((w) => w.environment)])],
    findings: (live) => findingsOf(workloads, live, registering),
    zombieScope: (live) =>
      live.tags[SYNC_TAGS.source] === "kubernetes" &&
      !serving.has(keyOf(live)) &&
      inScope(live.tags[SYNC_TAGS.ref], scope),
  };
}

function observationOf(w: Workload): ServingObservation | null {
  if (w.rollout.state !== "available" || missingAnnotations(w).length > 0 || w.model_version === null) {
    return null;
  }
  return {
    source: "kubernetes",
    ref: w.ref,
    model: w.model,
    model_version: w.model_version,
    environment: w.environment,
    owner_team: w.owner_team,
    training_data_cutoff: w.training_data_cutoff,
    since: w.rollout.since,
    basis: w.rollout.basis,
    ...(w.endpoint ? { endpoint: w.endpoint } : {}),
  };
}

function findingsOf(
  workloads: readonly Workload[],
  live: readonly LivePrimary[],
  registering: ReadonlySet<string>,
): SyncFinding[] {
  const liveByKey = new Map(live.map((l) => [keyOf(l), l]));
  const findings: SyncFinding[] = [];
  for (const w of workloads) {
    const current = liveByKey.get(keyOf(w));
    // When another workload of the model registers a version now, the live primary compared
    // with is on its way out: the next sync compares with the new one.
    const comparable = current !== undefined && !registering.has(keyOf(w)) ? current : undefined;
    const missing = missingAnnotations(w);
    if (w.rollout.state === "available" && missing.length > 0) {
      if (w.model_version !== null && current?.model_version === w.model_version) continue;
      findings.push({
        kind: "ghost",
        ref: w.ref,
        model: w.model,
        environment: w.environment,
        model_version: w.model_version,
        detail: `lacks ${missing.join(", ")}`,
      });
      if (w.model_version !== null && comparable) findings.push(mismatch(comparable, w, w.model_version));
    } else if (w.rollout.state === "failed" && w.model_version !== null && comparable) {
      if (comparable.model_version !== w.model_version)
        findings.push(mismatch(comparable, w, w.model_version));
    }
  }
  return findings;
}

function mismatch(live: LivePrimary, w: Workload, version: string): SyncFinding {
  return {
    kind: "version_mismatch",
    ref: w.ref,
    deployment_id: live.id,
    model: live.model,
    environment: live.environment,
    registered_version: live.model_version,
    serving_version: version,
  };
}

function inScope(ref: string | undefined, scope: KubernetesScope): boolean {
  const parsed = ref === undefined ? null : parseWorkloadRef(ref);
  if (!parsed || scope.absent.includes(parsed.kind)) return false;
  return scope.namespace === null || parsed.namespace === scope.namespace;
}

function keyOf(o: { model: string; environment: string }): string {
  return `${o.model}\u0000${o.environment}`;
}
