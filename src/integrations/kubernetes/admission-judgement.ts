import { isDeepStrictEqual } from "node:util";
import { formatDuration } from "../../core/duration.js";
import type { Policy, PolicySubject } from "../../core/policy.js";
import { instantToMs } from "../../registry/deployment-words.js";
import type { AdmissionRequest, AdmissionVerdict, KubernetesObject } from "./admission-review.js";
import {
  describeProblem,
  type MetadataProblem,
  MODEL_LABEL,
  OWNER_TEAM_ANNOTATION,
  readWorkloadMetadata,
  type WorkloadMetadata,
} from "./workload-metadata.js";

/** The workloads the webhook judges, by API group and kind (any version: metadata is the same). */
export const JUDGED_KINDS = [
  { group: "apps", kind: "Deployment", resource: "deployments" },
  { group: "apps", kind: "StatefulSet", resource: "statefulsets" },
  { group: "serving.kserve.io", kind: "InferenceService", resource: "inferenceservices" },
] as const;

/** What the judgement needs to know besides the request, looked up before it. */
export interface AdmissionFacts {
  now: number;
  /** The policy that would govern the deployment: the server's policy book. */
  policyFor(subject: PolicySubject): Policy;
  /**
   * The team the registry has the model owned by; undefined when it does not know the model, or
   * could not say in time (the check is only a warning, so it is skipped rather than waited for).
   */
  registeredOwner: string | undefined;
}

export interface AdmissionJudgement {
  verdict: AdmissionVerdict;
  /** Why, in a few words, for the log. */
  reason: string;
  /** The labelled workload's missing or invalid metadata; empty when it has none or was not judged. */
  problems: MetadataProblem[];
}

/**
 * Decides one admission request. Only a CREATE or UPDATE of a Deployment, StatefulSet or KServe
 * InferenceService labelled `tenure.dev/model` is judged; anything else is allowed untouched.
 * A judged workload without valid metadata is denied with a message naming every problem;
 * soft problems (training data older than the policy allows, another owner than the registry's)
 * are warnings. Pure: no I/O, `now` and the lookups come in `facts`.
 *
 * An UPDATE that changes only metadata of a workload whose problems predate it is allowed with
 * warnings: controllers write such updates (the Deployment controller's revision annotation,
 * finalizers), and refusing them would wedge workloads created before the webhook, while
 * changing what serves (the spec) still needs the metadata.
 */
export function judgeAdmission(request: AdmissionRequest, facts: AdmissionFacts): AdmissionJudgement {
  const skip = (reason: string): AdmissionJudgement => ({
    verdict: { allowed: true, warnings: [] },
    reason,
    problems: [],
  });
  if (request.operation !== "CREATE" && request.operation !== "UPDATE") {
    return skip(`${request.operation} is not judged`);
  }
  if (request.subResource) return skip(`the ${request.subResource} subresource is not judged`);
  const judged = JUDGED_KINDS.some((k) => k.group === request.kind.group && k.kind === request.kind.kind);
  if (!judged) return skip(`${kindName(request)} is not judged`);
  const object = request.object;
  const labels = object?.metadata?.labels ?? {};
  if (!object || labels[MODEL_LABEL] === undefined) return skip(`not labelled ${MODEL_LABEL}`);
  // Removing finalizers while it is deleted must always succeed, or the deletion never ends.
  if (request.operation === "UPDATE" && object.metadata?.deletionTimestamp) {
    return skip("it is being deleted");
  }

  const reading = readWorkloadMetadata(object.metadata ?? {}, facts.now);
  if (!reading.ok) {
    if (predatesUpdate(request, reading.problems, facts.now)) {
      return {
        verdict: {
          allowed: true,
          warnings: [
            ...reading.problems.map(describeProblem),
            "allowed as only metadata changed; the next change to the spec is refused until these are fixed",
          ],
        },
        reason: "metadata-only update of a workload whose problems predate it",
        problems: reading.problems,
      };
    }
    return {
      verdict: { allowed: false, message: denialMessage(request, object, reading.problems), warnings: [] },
      reason: `denied: ${reading.problems.map((p) => p.key).join(", ")}`,
      problems: reading.problems,
    };
  }
  const warnings = softProblems(reading.metadata, facts);
  return {
    verdict: { allowed: true, warnings },
    reason: warnings.length > 0 ? "allowed with warnings" : "allowed",
    problems: [],
  };
}

/** `Deployment payments/fraud-gbm`: the workload as its owner would name it. */
function workloadName(request: AdmissionRequest, object: KubernetesObject): string {
  const name = request.name || object.metadata?.name || object.metadata?.generateName || "(unnamed)";
  const namespace = request.namespace || object.metadata?.namespace;
  return `${request.kind.kind} ${namespace ? `${namespace}/` : ""}${name}`;
}

function kindName(request: AdmissionRequest): string {
  const { group, version, kind } = request.kind;
  return `${group ? `${group}/` : ""}${version} ${kind}`;
}

function denialMessage(
  request: AdmissionRequest,
  object: KubernetesObject,
  problems: MetadataProblem[],
): string {
  const label = object.metadata?.labels?.[MODEL_LABEL];
  const onTemplate = problems
    .filter((p) => p.value === undefined && podTemplateAnnotations(object)[p.key] !== undefined)
    .map((p) => p.key);
  const hint =
    onTemplate.length > 0
      ? ` ${onTemplate.join(", ")} ${onTemplate.length > 1 ? "are" : "is"} on the pod template (spec.template.metadata); Tenure reads the workload's own metadata.annotations.`
      : " Set them in the workload's metadata.annotations.";
  return (
    `${workloadName(request, object)} is labelled ${MODEL_LABEL}=${JSON.stringify(label)} but lacks ` +
    `the metadata Tenure needs of a deployment: ${problems.map(describeProblem).join("; ")}.${hint}`
  );
}

function podTemplateAnnotations(object: KubernetesObject): Record<string, unknown> {
  const template = (object.spec as { template?: { metadata?: { annotations?: unknown } } } | undefined)
    ?.template;
  const annotations = template?.metadata?.annotations;
  return annotations !== null && typeof annotations === "object"
    ? (annotations as Record<string, unknown>)
    : {};
}

/**
 * True for an UPDATE that leaves the spec as it was, of a workload that was labelled and already
 * had every one of these problems: the update makes nothing worse.
 */
function predatesUpdate(request: AdmissionRequest, problems: MetadataProblem[], now: number): boolean {
  const old = request.oldObject;
  if (request.operation !== "UPDATE" || !old || old.metadata?.labels?.[MODEL_LABEL] === undefined)
    return false;
  if (!isDeepStrictEqual(request.object?.spec, old.spec)) return false;
  const before = readWorkloadMetadata(old.metadata ?? {}, now);
  if (before.ok) return false;
  return problems.every((p) => before.problems.some((b) => b.key === p.key && b.value === p.value));
}

/** Warnings for a workload whose metadata is valid. */
function softProblems(metadata: WorkloadMetadata, facts: AdmissionFacts): string[] {
  const warnings: string[] = [];
  const policy = facts.policyFor({
    model: metadata.model,
    environment: metadata.environment,
    owner_team: metadata.owner_team,
    // Workloads carry no tags: a policy that matches on tags does not govern them here.
    tags: {},
  });
  const maxDataAge = policy.max_data_age_seconds;
  const dataAgeSeconds = Math.floor((facts.now - instantToMs(metadata.training_data_cutoff)) / 1000);
  // As the sweep's data_stale finding judges it: at the limit is too old, and exempt is exempt.
  if (!policy.exempt && maxDataAge !== null && dataAgeSeconds >= maxDataAge) {
    warnings.push(
      `training data is ${formatDuration(dataAgeSeconds)} old, past max_data_age ${formatDuration(maxDataAge)} of policy ${policy.name}`,
    );
  }
  if (facts.registeredOwner !== undefined && facts.registeredOwner !== metadata.owner_team) {
    warnings.push(
      `model ${metadata.model} is registered to team ${facts.registeredOwner}, not ${metadata.owner_team} (${OWNER_TEAM_ANNOTATION})`,
    );
  }
  return warnings;
}
