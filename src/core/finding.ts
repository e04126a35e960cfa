/**
 * The finding itself, apart from how deployments are evaluated (findings.ts), how performance is
 * judged (performance.ts) and how policies route findings (policy.ts): all three speak of it.
 */

/** The kinds of finding a sweep concludes, or an action reports, and a policy can route to channels. */
export const FINDING_KINDS = [
  "due",
  "expired",
  "data_stale",
  "silent",
  "degraded",
  "drifted",
  "forecast_breach",
  "canary_failed",
  "canary_paused",
  "guardrail",
  "version_mismatch",
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/**
 * Kinds opened where something was done about a deployment, not by a sweep: a canary rolled back
 * (`canary_failed`) or paused (`canary_paused`), a new primary rolled back by its guardrail. A
 * sweep never concludes them, so it neither opens nor resolves them: their absence from a sweep's
 * findings says nothing, and an alert about a deployment that ended stays open for people to see.
 */
export const ACTION_KINDS: ReadonlySet<string> = new Set<FindingKind>([
  "canary_failed",
  "canary_paused",
  "guardrail",
]);

/** PagerDuty's severities, which every channel reuses: `expired` is an error, `due` a warning. */
export const SEVERITIES = ["critical", "error", "warning", "info"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What a sweep concluded about one deployment: one kind, with its evidence. */
export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** One line a person reads first: `fraud-gbm 3.2.0 in production is expired: 31d of 30d (103%)`. */
  summary: string;
  detail: Record<string, unknown>;
}
