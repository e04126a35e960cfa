import { type AgeBlock, type AgeInput, computeAge, describeAge } from "./age.js";
import { formatDuration } from "./duration.js";
import type { Finding, FindingKind, Severity } from "./finding.js";
import type { Policy } from "./policy.js";

type FindingWords = { summary: string; detail: Record<string, unknown> };

/**
 * A finding whose words are written only when read. A sweep finds tens of thousands of things
 * whose alerts are already open and never reads their summaries; not writing them keeps its
 * memory flat.
 *
 * A class, so that its getters live once on the prototype: an object literal with its own
 * getters costs V8 an accessor pair per object in the old generation, which keeps the closure
 * (and the deployment row it captures) alive through young-generation GCs until a full one.
 */
class LazyFinding implements Finding {
  readonly kind: FindingKind;
  readonly severity: Severity;
  readonly #describe: () => FindingWords;
  #words: FindingWords | undefined;

  constructor(kind: FindingKind, severity: Severity, describe: () => FindingWords) {
    this.kind = kind;
    this.severity = severity;
    this.#describe = describe;
  }

  get summary(): string {
    return this.#written().summary;
  }

  get detail(): Record<string, unknown> {
    return this.#written().detail;
  }

  /** Serialized, it is the plain record a finding is: the getters are not own properties. */
  toJSON(): Finding {
    return { kind: this.kind, severity: this.severity, summary: this.summary, detail: this.detail };
  }

  #written(): FindingWords {
    this.#words ??= this.#describe();
    return this.#words;
  }
}

/** What evaluation needs of a deployment; times are epoch milliseconds. */
export interface EvaluationInput extends AgeInput {
  model: string;
  model_version: string;
  environment: string;
  last_heartbeat_at: number | null;
  /** The end of the last traffic report in which it answered a request without error. */
  last_traffic_at: number | null;
  /** The version its upstream last stated when that differed from `model_version`. */
  reported_version: string | null;
  /** When a gateway last saw that mismatch; null once a report shows the right version again. */
  version_mismatch_at: number | null;
}

/**
 * How long a version mismatch a gateway saw stays a finding when no report clears it: a day,
 * the default interval between sweeps, so every sweep after a mismatch sees it even when the
 * mismatched deployment stopped getting traffic; a report with traffic and the right version
 * clears it sooner.
 */
export const VERSION_MISMATCH_WINDOW_MS = 86_400_000;

export interface Evaluation {
  age: AgeBlock;
  findings: Finding[];
}

/**
 * Evaluates a live deployment at `at` under its policy: the age block and the findings.
 * `due` and `expired` exclude each other (an expired deployment is past its review point too,
 * but one alert says it). An exempt policy raises no age findings (`due`, `expired`,
 * `data_stale`): the model is stable by nature, and its views say so. Liveness still counts.
 */
export function evaluateDeployment(input: EvaluationInput, policy: Policy, at: number): Evaluation {
  const age = computeAge(input, policy, at);
  const findings: Finding[] = [];
  const name = `${input.model} ${input.model_version} in ${input.environment}`;
  const ageDetail = {
    deployment_age_seconds: age.deployment_age_seconds,
    ttl_seconds: age.ttl_seconds,
    ttl_fraction: age.ttl_fraction,
    review_at: policy.review_at,
    policy: policy.name,
  };
  if (!policy.exempt && age.stage === "expired") {
    findings.push(
      new LazyFinding("expired", "error", () => ({
        summary: `${name} is expired: ${describeAge(age)}`,
        detail: {
          ...ageDetail,
          expire_action: policy.expire_action,
          reason: `it has served ${formatDuration(age.deployment_age_seconds)}, past its TTL of ${formatDuration(age.ttl_seconds)} under policy ${policy.name}`,
        },
      })),
    );
  } else if (!policy.exempt && age.stage === "due") {
    findings.push(
      new LazyFinding("due", "warning", () => ({
        summary: `${name} is due for review: ${describeAge(age)}`,
        detail: {
          ...ageDetail,
          reason: `it has served ${formatDuration(age.deployment_age_seconds)}, past its review point at ${Math.round(policy.review_at * 100)}% of ${formatDuration(age.ttl_seconds)} under policy ${policy.name}`,
        },
      })),
    );
  }
  const maxDataAge = policy.max_data_age_seconds;
  if (!policy.exempt && maxDataAge !== null && age.data_age_seconds >= maxDataAge) {
    findings.push(
      new LazyFinding("data_stale", "warning", () => ({
        summary: `${name} learned from data ${formatDuration(age.data_age_seconds)} old (at most ${formatDuration(maxDataAge)})`,
        detail: {
          data_age_seconds: age.data_age_seconds,
          max_data_age_seconds: maxDataAge,
          policy: policy.name,
        },
      })),
    );
  }
  const silent = silenceOf(input, policy, at, name);
  if (silent) findings.push(silent);
  const mismatch = versionMismatchOf(input, at, name);
  if (mismatch) findings.push(mismatch);
  return { age, findings };
}

/**
 * Silence: neither traffic nor a liveness heartbeat within the policy's `silence_after`. Traffic
 * through a gateway proves life as a heartbeat does, so silence counts from the later of the two;
 * a deployment that had neither has been silent since it was deployed. A deployment registered
 * live that nothing reaches is a zombie, and the finding says so.
 */
function silenceOf(input: EvaluationInput, policy: Policy, at: number, name: string): Finding | undefined {
  const silenceAfter = policy.silence_after_seconds;
  if (silenceAfter === null) return undefined;
  const lastSign = Math.max(input.last_heartbeat_at ?? -Infinity, input.last_traffic_at ?? -Infinity);
  const since = Number.isFinite(lastSign) ? lastSign : input.deployment_date;
  const silentFor = Math.floor((at - since) / 1000);
  if (silentFor < silenceAfter) return undefined;
  const isoOrNull = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return new LazyFinding("silent", "error", () => ({
    summary: `${name} has received no traffic and sent no liveness heartbeat for ${formatDuration(silentFor)} (at most ${formatDuration(silenceAfter)}): a zombie`,
    detail: {
      zombie: true,
      silent_seconds: silentFor,
      silence_after_seconds: silenceAfter,
      last_heartbeat_at: isoOrNull(input.last_heartbeat_at),
      last_traffic_at: isoOrNull(input.last_traffic_at),
      policy: policy.name,
      reason: `no traffic and no liveness heartbeat for ${formatDuration(silentFor)}; policy ${policy.name} expects one or the other within ${formatDuration(silenceAfter)}`,
    },
  }));
}

/**
 * A version mismatch: the upstream a gateway sent this deployment's requests to stated another
 * version than the registry's (its version header), within VERSION_MISMATCH_WINDOW_MS of `at`.
 * Whatever the policy, exempt or not: the registry is wrong about what serves.
 */
function versionMismatchOf(input: EvaluationInput, at: number, name: string): Finding | undefined {
  const seenAt = input.version_mismatch_at;
  const reported = input.reported_version;
  if (seenAt === null || reported === null) return undefined;
  // A replay before the mismatch was seen does not know of it yet.
  if (seenAt > at || at - seenAt > VERSION_MISMATCH_WINDOW_MS) return undefined;
  return new LazyFinding("version_mismatch", "error", () => ({
    summary: `${name} is answered by version ${reported}: its upstream says so, the registry says ${input.model_version}`,
    detail: {
      registered_version: input.model_version,
      reported_version: reported,
      version_mismatch_at: new Date(seenAt).toISOString(),
      reason: `a gateway saw its upstream state version ${reported} in its version header at ${new Date(seenAt).toISOString()}; the registry has ${input.model_version} live`,
    },
  }));
}

/**
 * The dates (epoch ms) on which a deployment becomes due and expires under a policy, given
 * the extensions its reviews granted.
 */
export function lifecycleDates(
  input: Pick<AgeInput, "deployment_date" | "ttl_extension_seconds">,
  policy: Pick<Policy, "max_age_seconds" | "review_at">,
): { due_at: number; expires_at: number } {
  const ttlMs = (policy.max_age_seconds + input.ttl_extension_seconds) * 1000;
  return {
    due_at: input.deployment_date + Math.ceil(ttlMs * policy.review_at),
    expires_at: input.deployment_date + ttlMs,
  };
}
