/**
 * Kubernetes workloads as their controllers report them, for the fake cluster
 * (test/support/fake-kubernetes.ts) to serve: Deployments, StatefulSets and KServe
 * InferenceServices at a point of their rollout, and the times and annotations tests give them.
 */

// biome-ignore lint/suspicious/noExplicitAny: Kubernetes objects are free-form JSON here.
export type KubeObject = Record<string, any>;

const DAY_MS = 86_400_000;

/** A time as Kubernetes writes it: whole seconds, `Z`. */
export function kubeTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** The Kubernetes time `days` days before now. */
export function daysAgo(days: number): string {
  return kubeTime(Date.now() - days * DAY_MS);
}

/** The training data cutoff `registrable` workloads carry: a date 90 days back. */
export const TRAINING_CUTOFF = daysAgo(90).slice(0, 10);

/** Rollout states a test can put a workload in. */
export type FakeRollout =
  /** Rolled out: the rollout's condition says when. */
  { available: string } | "progressing" | "failed";

export interface FakeWorkload {
  name: string;
  namespace?: string;
  model?: string;
  /** Annotations besides the model label; absent keys are left out. */
  version?: string;
  cutoff?: string;
  team?: string;
  environment?: string;
  replicas?: number;
  generation?: number;
  rollout: FakeRollout;
}

/**
 * A workload named as its model, serving `version` with the annotations a sync needs to register it
 * (version, training data cutoff, owner team risk), at that point of its rollout; `more` sets the rest.
 */
export function registrable(
  model: string,
  version: string,
  rollout: FakeRollout,
  more: Partial<FakeWorkload> = {},
): FakeWorkload {
  return { name: model, model, version, cutoff: TRAINING_CUTOFF, team: "risk", rollout, ...more };
}

function metadataOf(w: FakeWorkload): KubeObject {
  const annotations: Record<string, string> = {};
  if (w.version !== undefined) annotations["tenure.dev/model-version"] = w.version;
  if (w.cutoff !== undefined) annotations["tenure.dev/training-data-cutoff"] = w.cutoff;
  if (w.team !== undefined) annotations["tenure.dev/owner-team"] = w.team;
  if (w.environment !== undefined) annotations["tenure.dev/environment"] = w.environment;
  return {
    name: w.name,
    namespace: w.namespace ?? "ml",
    generation: w.generation ?? 2,
    labels: { app: w.name, ...(w.model === undefined ? {} : { "tenure.dev/model": w.model }) },
    annotations,
  };
}

/** A Deployment as the controller reports it at that point of its rollout. */
export function deploymentOf(w: FakeWorkload): KubeObject {
  const replicas = w.replicas ?? 3;
  const generation = w.generation ?? 2;
  const created = "2026-01-05T09:00:00Z";
  const rollout = w.rollout;
  const status =
    typeof rollout === "object"
      ? {
          observedGeneration: generation,
          replicas,
          updatedReplicas: replicas,
          readyReplicas: replicas,
          availableReplicas: replicas,
          conditions: [
            {
              type: "Available",
              status: "True",
              lastUpdateTime: created,
              lastTransitionTime: created,
              reason: "MinimumReplicasAvailable",
              message: "Deployment has minimum availability.",
            },
            {
              type: "Progressing",
              status: "True",
              lastUpdateTime: rollout.available,
              lastTransitionTime: created,
              reason: "NewReplicaSetAvailable",
              message: `ReplicaSet "${w.name}-7d9f8b6c5d" has successfully progressed.`,
            },
          ],
        }
      : {
          observedGeneration: generation,
          replicas: replicas + 1,
          updatedReplicas: 1,
          readyReplicas: replicas,
          availableReplicas: replicas,
          unavailableReplicas: 1,
          conditions: [
            {
              type: "Available",
              status: "True",
              lastUpdateTime: created,
              lastTransitionTime: created,
              reason: "MinimumReplicasAvailable",
              message: "Deployment has minimum availability.",
            },
            rollout === "failed"
              ? {
                  type: "Progressing",
                  status: "False",
                  lastUpdateTime: "2026-03-01T10:10:00Z",
                  lastTransitionTime: "2026-03-01T10:10:00Z",
                  reason: "ProgressDeadlineExceeded",
                  message: `ReplicaSet "${w.name}-5f6d7c8b9a" has timed out progressing.`,
                }
              : {
                  type: "Progressing",
                  status: "True",
                  lastUpdateTime: "2026-03-01T10:00:00Z",
                  lastTransitionTime: created,
                  reason: "ReplicaSetUpdated",
                  message: `ReplicaSet "${w.name}-5f6d7c8b9a" is progressing.`,
                },
          ],
        };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metadataOf(w),
    spec: {
      replicas,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { app: w.name } },
      template: {
        metadata: { labels: { app: w.name } },
        spec: {
          containers: [{ name: "server", image: `registry.example/${w.name}:${w.version ?? "latest"}` }],
        },
      },
    },
    status,
  };
}

/** A StatefulSet: rolled out when its update revision is current and every replica is ready. */
export function statefulSetOf(w: FakeWorkload): KubeObject {
  const replicas = w.replicas ?? 2;
  const rolledOut = typeof w.rollout === "object";
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: metadataOf(w),
    spec: { replicas, serviceName: w.name, selector: { matchLabels: { app: w.name } } },
    status: {
      observedGeneration: w.generation ?? 2,
      replicas,
      readyReplicas: rolledOut ? replicas : replicas - 1,
      currentReplicas: rolledOut ? replicas : replicas - 1,
      updatedReplicas: rolledOut ? replicas : 1,
      currentRevision: `${w.name}-6c9b7d5f4`,
      updateRevision: rolledOut ? `${w.name}-6c9b7d5f4` : `${w.name}-84f7c9d6b`,
      collisionCount: 0,
    },
  };
}

/** A KServe InferenceService: Ready True since the rollout, with its URL. */
export function inferenceServiceOf(w: FakeWorkload): KubeObject {
  const rollout = w.rollout;
  const ready =
    typeof rollout === "object"
      ? { type: "Ready", status: "True", lastTransitionTime: rollout.available }
      : {
          type: "Ready",
          status: rollout === "failed" ? "False" : "Unknown",
          reason: "RevisionMissing",
          message: "Revision is not ready yet",
          lastTransitionTime: "2026-03-01T10:00:00Z",
        };
  const namespace = w.namespace ?? "ml";
  return {
    apiVersion: "serving.kserve.io/v1beta1",
    kind: "InferenceService",
    metadata: metadataOf(w),
    spec: { predictor: { model: { modelFormat: { name: "sklearn" }, storageUri: "gs://models/x" } } },
    status: {
      observedGeneration: w.generation ?? 2,
      url: `http://${w.name}.${namespace}.example.com`,
      conditions: [
        { type: "IngressReady", status: "True", lastTransitionTime: "2026-01-05T09:00:00Z" },
        { type: "PredictorReady", status: ready.status, lastTransitionTime: ready.lastTransitionTime },
        ready,
      ],
    },
  };
}
