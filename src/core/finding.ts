/**
 * The finding itself, apart from how deployments are evaluated (findings.ts), how performance is
 * judged (performance.ts) and how policies route findings (policy.ts): all three speak of it.
 */

/** The kinds of finding a sweep concludes, and a policy can route to channels. */
export const FINDING_KINDS = ["due", "expired", "data_stale", "silent", "degraded", "drifted"] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

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
