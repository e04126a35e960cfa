import type { Verdict } from "./compare/shadow-verdict.js";
import { formatDuration } from "./duration.js";
import {
  type CandidateMetric,
  type CheckStatus,
  compareMetric,
  figure,
  formatP,
  type MetricCheck,
} from "./gate-metric.js";
import { isoTime } from "./iso-time.js";
import type { JudgedWindow } from "./performance.js";

export type { CandidateMetric, CheckStatus, Direction, MetricCheck, MetricKind } from "./gate-metric.js";

/**
 * The champion-vs-challenger gate: whether a candidate version may replace the live primary of
 * a model in an environment. Everything it weighs is passed in (the evidence is read by
 * src/lifecycle/promotion-gate.ts); every check is a line a person can read and a record a
 * machine can, and the decision is `block` when any check fails.
 */

/** A shadow's or canary's verdict on the candidate against the primary. */
export interface VerdictEvidence {
  source: "shadow" | "canary";
  deployment_id: number;
  verdict: Verdict;
  reason: string;
}

export interface GateInput {
  model: string;
  environment: string;
  candidate: {
    model_version: string;
    training_data_cutoff: number;
    /** Where the cutoff came from: the candidate's figures, or the version as registered. */
    cutoff_source: "candidate" | "registry";
  };
  /** The live primary, or null when there is none: then there is nothing to beat. */
  primary: { deployment_id: number; model_version: string; training_data_cutoff: number } | null;
  policy: { name: string; max_data_age_seconds: number | null };
  /** Each candidate metric with the primary's recent judged windows of it (empty without a primary). */
  metrics: { metric: CandidateMetric; primary_windows: readonly JudgedWindow[] }[];
  /** How much better each metric must be, absolute, in its own units. */
  min_improvement: number;
  /** The significance level of every test. */
  alpha: number;
  /** The shadows' and canaries' verdicts on the candidate; null when they are not required. */
  verdicts: readonly VerdictEvidence[] | null;
  now: number;
}

export interface CutoffCheck {
  kind: "training_data_cutoff";
  name: "training data";
  status: CheckStatus;
  summary: string;
  candidate: string;
  primary: string | null;
  /** How much newer the candidate's data is; null without a primary. */
  newer_by_seconds: number | null;
  source: "candidate" | "registry";
}

export interface DataAgeCheck {
  kind: "data_age";
  name: "data age";
  status: CheckStatus;
  summary: string;
  data_age_seconds: number;
  max_data_age_seconds: number | null;
  policy: string;
}

export interface VerdictCheck {
  kind: "shadow_verdict";
  name: "shadow or canary";
  status: CheckStatus;
  summary: string;
  verdicts: VerdictEvidence[];
}

export type GateCheck = MetricCheck | CutoffCheck | DataAgeCheck | VerdictCheck;

export interface GateDecision {
  decision: "promote" | "block";
  /** One sentence: the decision and why. */
  summary: string;
  model: string;
  environment: string;
  candidate: { model_version: string; training_data_cutoff: string; cutoff_source: "candidate" | "registry" };
  primary: { deployment_id: number; model_version: string; training_data_cutoff: string } | null;
  policy: string;
  min_improvement: number;
  alpha: number;
  checks: GateCheck[];
}

/**
 * Decides the gate: each candidate metric against the primary's recent windows (see
 * compareMetric), the candidate's training data newer than the primary's, its data age within
 * the policy's `max_data_age`, and, when required, a `candidate_better` shadow or canary verdict.
 *
 * Without a live primary there is nothing to beat: the metric, cutoff and verdict checks pass
 * with a note saying so, and the data age alone can block. A metric the primary has no judged
 * window of is skipped unless it is the one the policy judges, or no other metric was compared:
 * a candidate is never promoted on the strength of a comparison that did not happen.
 */
export function decideGate(input: GateInput): GateDecision {
  const checks: GateCheck[] = [
    ...metricChecks(input),
    cutoffCheck(input),
    dataAgeCheck(input),
    ...(input.verdicts === null ? [] : [verdictCheck(input, input.verdicts)]),
  ];
  const failed = checks.filter((c) => c.status === "fail");
  const where = `${input.model} ${input.candidate.model_version} in ${input.environment}`;
  const summary =
    failed.length > 0
      ? `block ${where}: ${failed.length} of ${checks.length} checks failed (${failed.map((c) => c.name).join(", ")})`
      : input.primary === null
        ? `promote ${where}: no live primary to beat, and its data is within policy`
        : `promote ${where}: it beats ${input.primary.model_version} on every check`;
  return {
    decision: failed.length > 0 ? "block" : "promote",
    summary,
    model: input.model,
    environment: input.environment,
    candidate: {
      model_version: input.candidate.model_version,
      training_data_cutoff: isoTime(input.candidate.training_data_cutoff),
      cutoff_source: input.candidate.cutoff_source,
    },
    primary: input.primary && {
      deployment_id: input.primary.deployment_id,
      model_version: input.primary.model_version,
      training_data_cutoff: isoTime(input.primary.training_data_cutoff),
    },
    policy: input.policy.name,
    min_improvement: input.min_improvement,
    alpha: input.alpha,
    checks,
  };
}

function metricChecks(input: GateInput): MetricCheck[] {
  const options = { min_improvement: input.min_improvement, alpha: input.alpha };
  if (input.primary === null) {
    return input.metrics.map(({ metric }) => ({
      ...compareMetric(metric, [], { ...options, others_compared: true }),
      status: "pass",
      summary: `${metric.name} ${figure(metric.value)}: no live primary in ${input.environment}, nothing to beat`,
    }));
  }
  const othersCompared = input.metrics.some((m) => m.primary_windows.length > 0);
  return input.metrics.map(({ metric, primary_windows }) =>
    compareMetric(metric, primary_windows, { ...options, others_compared: othersCompared }),
  );
}

function cutoffCheck(input: GateInput): CutoffCheck {
  const candidate = input.candidate.training_data_cutoff;
  const trained = `trained through ${day(candidate)}${input.candidate.cutoff_source === "registry" ? " (as registered)" : ""}`;
  const base = {
    kind: "training_data_cutoff" as const,
    name: "training data" as const,
    candidate: isoTime(candidate),
    source: input.candidate.cutoff_source,
  };
  const primary = input.primary;
  if (primary === null) {
    return {
      ...base,
      status: "pass",
      summary: `${trained}; no live primary in ${input.environment} to be newer than`,
      primary: null,
      newer_by_seconds: null,
    };
  }
  const newer = candidate > primary.training_data_cutoff;
  const by = Math.round((candidate - primary.training_data_cutoff) / 1000);
  return {
    ...base,
    status: newer ? "pass" : "fail",
    summary: newer
      ? `${trained}, ${formatDuration(by)} after the primary's ${day(primary.training_data_cutoff)}`
      : `${trained}, not after the primary's ${day(primary.training_data_cutoff)}: it learned nothing newer`,
    primary: isoTime(primary.training_data_cutoff),
    newer_by_seconds: by,
  };
}

function dataAgeCheck(input: GateInput): DataAgeCheck {
  const age = Math.max(0, Math.round((input.now - input.candidate.training_data_cutoff) / 1000));
  const max = input.policy.max_data_age_seconds;
  const within = max === null || age <= max;
  return {
    kind: "data_age",
    name: "data age",
    status: within ? "pass" : "fail",
    summary:
      max === null
        ? `data age ${formatDuration(age)}; policy ${input.policy.name} sets no max_data_age`
        : `data age ${formatDuration(age)}, ${within ? "within" : "past"} the ${formatDuration(max)} max_data_age of policy ${input.policy.name}`,
    data_age_seconds: age,
    max_data_age_seconds: max,
    policy: input.policy.name,
  };
}

function verdictCheck(input: GateInput, verdicts: readonly VerdictEvidence[]): VerdictCheck {
  const base = {
    kind: "shadow_verdict" as const,
    name: "shadow or canary" as const,
    verdicts: [...verdicts],
  };
  const version = input.candidate.model_version;
  if (input.primary === null) {
    return {
      ...base,
      status: "pass",
      summary: `no live primary in ${input.environment} to compare with: no verdict needed`,
    };
  }
  const describe = (v: VerdictEvidence) =>
    `${v.source} ${version} (deployment ${v.deployment_id}): ${v.verdict}: ${v.reason}`;
  const better = verdicts.find((v) => v.verdict === "candidate_better");
  if (better) return { ...base, status: "pass", summary: describe(better) };
  return {
    ...base,
    status: "fail",
    summary:
      verdicts.length === 0
        ? `no live shadow or canary of ${version} in ${input.environment} holds a verdict against the primary`
        : `no candidate_better verdict: ${verdicts.map(describe).join("; ")}`,
  };
}

/** A date at midnight UTC as the date alone, any other time in full. */
function day(ms: number): string {
  const iso = isoTime(ms);
  return iso.endsWith("T00:00:00.000Z") ? iso.slice(0, 10) : iso;
}

/** What a canary's newest analysis found, as far as its verdict on the candidate goes. */
export interface CanaryAnalysisEvidence {
  verdict: "pass" | "fail" | "inconclusive";
  reasons: readonly string[];
  /** The comparison on labelled requests (compareUnpaired), or null when no label was read. */
  labels: {
    counted: boolean;
    worse: boolean;
    reason: string;
    kind: "classification" | "regression" | null;
    primary: { error_rate: number | null; mean_abs_error: number | null };
    canary: { error_rate: number | null; mean_abs_error: number | null };
    p_value: number | null;
    alpha: number;
  } | null;
}

/**
 * A canary's verdict on the candidate, in a shadow's words. A canary analysis `pass` only means
 * the canary is not worse (its error rate and latency within their margins), so better must
 * come from its labelled requests: `candidate_better` when they counted and the canary's error
 * rate (classes) or mean absolute error (numbers) is significantly lower, p < alpha;
 * `candidate_worse` when the analysis failed or the labels show it significantly worse;
 * `inconclusive` otherwise.
 */
export function canaryVerdict(analysis: CanaryAnalysisEvidence | undefined): {
  verdict: Verdict;
  reason: string;
} {
  if (!analysis) return { verdict: "inconclusive", reason: "no analysis yet" };
  if (analysis.verdict === "fail")
    return {
      verdict: "candidate_worse",
      reason: `its newest analysis failed: ${analysis.reasons.join("; ")}`,
    };
  const labels = analysis.labels;
  if (labels === null) return { verdict: "inconclusive", reason: "no labelled requests yet" };
  if (!labels.counted) return { verdict: "inconclusive", reason: labels.reason };
  if (labels.worse) return { verdict: "candidate_worse", reason: labels.reason };
  const error = (side: { error_rate: number | null; mean_abs_error: number | null }) =>
    labels.kind === "classification" ? side.error_rate : side.mean_abs_error;
  const canary = error(labels.canary);
  const primary = error(labels.primary);
  const p = labels.p_value;
  if (p !== null && p < labels.alpha && canary !== null && primary !== null && canary < primary)
    return { verdict: "candidate_better", reason: labels.reason };
  return {
    verdict: "inconclusive",
    reason: p === null ? labels.reason : `${labels.reason} (p = ${formatP(p)})`,
  };
}
