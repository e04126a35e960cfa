import type { z } from "zod";
import { instant, modelVersion, slug } from "../../registry/deployment-input.js";
import { FUTURE_TOLERANCE_MS, instantToMs } from "../../registry/deployment-words.js";

/** The label that opts a workload in: its value is the model's name. */
export const MODEL_LABEL = "tenure.dev/model";
export const MODEL_VERSION_ANNOTATION = "tenure.dev/model-version";
export const TRAINING_DATA_CUTOFF_ANNOTATION = "tenure.dev/training-data-cutoff";
export const OWNER_TEAM_ANNOTATION = "tenure.dev/owner-team";
/** Optional: where the workload serves. Without it, `production`, the registry's default. */
export const ENVIRONMENT_ANNOTATION = "tenure.dev/environment";

/** The annotations every labelled workload must carry, in the order messages name them. */
export const REQUIRED_ANNOTATIONS = [
  MODEL_VERSION_ANNOTATION,
  TRAINING_DATA_CUTOFF_ANNOTATION,
  OWNER_TEAM_ANNOTATION,
] as const;

/** The registry's default environment, which a workload without the annotation serves in. */
export const DEFAULT_ENVIRONMENT = "production";

/** A deployment's mandatory metadata, as a labelled workload's own metadata states it. */
export interface WorkloadMetadata {
  model: string;
  model_version: string;
  training_data_cutoff: string;
  owner_team: string;
  environment: string;
}

/** One label or annotation that is missing or not valid; `value` is what the workload holds. */
export interface MetadataProblem {
  key: string;
  value?: string;
  message: string;
}

export type MetadataReading =
  | { ok: true; metadata: WorkloadMetadata }
  | { ok: false; problems: MetadataProblem[] };

/** What a workload's metadata holds: labels and annotations are string maps in Kubernetes. */
export interface LabelledMetadata {
  labels?: Record<string, string> | null;
  annotations?: Record<string, string> | null;
}

// The registry's own validators, so a workload admitted here is one the registry would accept.
const SLUG = slug();
const MODEL_VERSION = modelVersion();
const INSTANT = instant();

/**
 * Reads a labelled workload's mandatory metadata from its own labels and annotations, the way
 * the registry would validate a registration: the model (the label) and the owner team are
 * slugs, the version is a model version, and the training data cutoff an ISO 8601 date or
 * date-time that is not in the future (give or take the registry's allowance for clock drift).
 * Every problem is reported, not only the first. Pure: `now` is passed in.
 */
export function readWorkloadMetadata(metadata: LabelledMetadata, now: number): MetadataReading {
  const labels = metadata.labels ?? {};
  const annotations = metadata.annotations ?? {};
  const problems: MetadataProblem[] = [];
  const read = (key: string, value: string | undefined, schema: z.ZodType, kind: "label" | "annotation") => {
    if (value === undefined) {
      problems.push({ key, message: "is missing" });
      return undefined;
    }
    const parsed = schema.safeParse(value);
    if (parsed.success) return value;
    problems.push({ key, value, message: parsed.error.issues[0]?.message ?? `is not a valid ${kind}` });
    return undefined;
  };
  const model = read(MODEL_LABEL, labels[MODEL_LABEL], SLUG, "label");
  const version = read(
    MODEL_VERSION_ANNOTATION,
    annotations[MODEL_VERSION_ANNOTATION],
    MODEL_VERSION,
    "annotation",
  );
  let cutoff = read(
    TRAINING_DATA_CUTOFF_ANNOTATION,
    annotations[TRAINING_DATA_CUTOFF_ANNOTATION],
    INSTANT,
    "annotation",
  );
  if (cutoff !== undefined && instantToMs(cutoff) > now + FUTURE_TOLERANCE_MS) {
    problems.push({
      key: TRAINING_DATA_CUTOFF_ANNOTATION,
      value: cutoff,
      message: `is in the future (the server's time is ${new Date(now).toISOString()})`,
    });
    cutoff = undefined;
  }
  const team = read(OWNER_TEAM_ANNOTATION, annotations[OWNER_TEAM_ANNOTATION], SLUG, "annotation");
  const environmentValue = annotations[ENVIRONMENT_ANNOTATION];
  const environment =
    environmentValue === undefined
      ? DEFAULT_ENVIRONMENT
      : read(ENVIRONMENT_ANNOTATION, environmentValue, SLUG, "annotation");
  if (
    problems.length > 0 ||
    model === undefined ||
    version === undefined ||
    cutoff === undefined ||
    team === undefined ||
    environment === undefined
  ) {
    return { ok: false, problems };
  }
  return {
    ok: true,
    metadata: { model, model_version: version, training_data_cutoff: cutoff, owner_team: team, environment },
  };
}

/** Longer values are cut in messages: an annotation may hold kilobytes, a message should not. */
const SHOWN_VALUE_LENGTH = 64;

/** `annotation tenure.dev/owner-team "Risk Team" must be a slug: …`, one problem as a phrase. */
export function describeProblem(problem: MetadataProblem): string {
  const kind = problem.key === MODEL_LABEL ? "label" : "annotation";
  if (problem.value === undefined) return `${kind} ${problem.key} ${problem.message}`;
  const value =
    problem.value.length > SHOWN_VALUE_LENGTH
      ? `${problem.value.slice(0, SHOWN_VALUE_LENGTH)}…`
      : problem.value;
  return `${kind} ${problem.key} ${JSON.stringify(value)} ${problem.message}`;
}
