import { type AgePolicy, DEFAULT_POLICY } from "./age.js";
import type { FindingKind } from "./finding.js";
import type { PerformancePolicy } from "./performance.js";

/** How a policy judges input drift. */
export interface DriftPolicy {
  /** How far back live samples count: the days that overlap [now − window, now]. */
  window_seconds: number;
  /** Only these features (default: every feature of the reference). */
  features: string[] | null;
  /** One method for every feature (default: the rule per feature, see docs/DRIFT.md). */
  method: "ks" | "psi" | "wasserstein" | "jensenshannon" | "chisquare" | null;
  /** The share of drifted features at which the deployment has drifted. */
  drift_share: number;
  /** The most features a deployment's reference and samples may name together: more are refused. */
  max_features: number;
}

/** A deployment's features unless its policy says otherwise: bounds what one request can store. */
export const DEFAULT_MAX_FEATURES = 1000;

export const DEFAULT_DRIFT_POLICY: DriftPolicy = {
  window_seconds: 86_400,
  features: null,
  method: null,
  drift_share: 0.5,
  max_features: DEFAULT_MAX_FEATURES,
};

/**
 * A new primary's guardrail (opt-in): while it bakes (`bake_seconds` after its deployment_date),
 * an error rate above `error_rate` over at least `min_requests`, or a `degraded` verdict, rolls
 * it back to the golden version.
 */
export interface GuardrailPolicy {
  error_rate: number;
  bake_seconds: number;
  min_requests: number;
}

/**
 * `max_age: auto`: the TTL is learned from the model's own decay (see src/lifecycle/learned-ttls.ts),
 * held within [min, max]; a model without a learned curve gets `fallback_seconds`.
 */
export interface AutoMaxAge {
  min_seconds: number;
  max_seconds: number;
  fallback_seconds: number;
}

/** How a policy's TTL is suggested from a decay curve (see core/decay/suggest-ttl.ts). */
export interface TtlSuggestionPolicy {
  /** How long a retrain takes: the suggested TTL ends this long before the expected breach. */
  lead_time_seconds: number;
  min_suggested_seconds: number;
  max_suggested_seconds: number;
}

export const DEFAULT_TTL_SUGGESTION: TtlSuggestionPolicy = {
  lead_time_seconds: 7 * 86_400,
  min_suggested_seconds: 7 * 86_400,
  max_suggested_seconds: 365 * 86_400,
};

/** What a policy matches on; `model`, `environment` and `owner_team` may use `*` wildcards. */
export interface PolicyMatch {
  model?: string;
  environment?: string;
  owner_team?: string;
  tags?: Record<string, string>;
}

export interface Policy extends AgePolicy {
  match: PolicyMatch;
  max_data_age_seconds: number | null;
  silence_after_seconds: number | null;
  exempt: boolean;
  reason: string | null;
  expire_action: "review" | "retire";
  /** How often an open alert is repeated to its channels, at most. */
  repeat_interval_seconds: number;
  /** The performance target, when the policy sets one. */
  performance: PerformancePolicy | null;
  /** How input drift is judged; every deployment with a reference and live samples is watched. */
  drift: DriftPolicy;
  /** Rolls a new primary back while it bakes; null (the default) for none. */
  guardrail: GuardrailPolicy | null;
  notify: Partial<Record<FindingKind, string[]>>;
  /**
   * Set when the policy's `max_age` is `auto`; its `max_age_seconds` is then the fallback until
   * `withLearnedTtl` resolves it for one model and environment.
   */
  max_age_auto: AutoMaxAge | null;
  /** How a TTL is suggested for the models it governs (`tenure policy suggest`, `max_age: auto`). */
  ttl_suggestion: TtlSuggestionPolicy;
  /** Where a resolved `auto` TTL came from; absent on a policy with a fixed `max_age`. */
  ttl_source?: "learned" | "fallback";
}

/**
 * The policy as it governs one model in one environment: an `auto` policy takes the learned TTL
 * (`learnedSeconds`, the suggestion a sweep stored) held within its bounds, or its fallback when
 * the model has none (null or undefined). A policy with a fixed `max_age` is returned as it is.
 */
export function withLearnedTtl(policy: Policy, learnedSeconds: number | null | undefined): Policy {
  const auto = policy.max_age_auto;
  if (!auto) return policy;
  if (learnedSeconds === null || learnedSeconds === undefined || !Number.isFinite(learnedSeconds)) {
    return { ...policy, max_age_seconds: auto.fallback_seconds, ttl_source: "fallback" };
  }
  const clamped = Math.min(auto.max_seconds, Math.max(auto.min_seconds, Math.round(learnedSeconds)));
  return { ...policy, max_age_seconds: clamped, ttl_source: "learned" };
}

/** What matching needs of a deployment. */
export interface PolicySubject {
  model: string;
  environment: string;
  owner_team: string;
  tags: Record<string, string>;
}

/**
 * A stored deployment as matching sees it: its tags (a JSON object) are parsed only when a policy
 * that could win matches on tags.
 *
 * A class, not an object literal with `get tags()`: V8 gives each literal's getter an accessor
 * pair in the old generation, which keeps the getter's closure, and the row it reads, alive
 * through every young-generation GC until a full one. A sweep asks for 100,000 subjects, so that
 * promoted about 100 MB of rows per sweep and let the heap grow that much between full GCs.
 */
export class StoredSubject implements PolicySubject {
  readonly model: string;
  readonly environment: string;
  readonly owner_team: string;
  readonly #tagsJson: string;
  #tags: Record<string, string> | undefined;

  readonly #readTags: (json: string) => Record<string, string>;

  /** `readTags` reads the stored JSON of tags (and checks it: core trusts no stored text). */
  constructor(
    row: { model: string; environment: string; owner_team: string; tags: string },
    readTags: (json: string) => Record<string, string>,
  ) {
    this.model = row.model;
    this.environment = row.environment;
    this.owner_team = row.owner_team;
    this.#tagsJson = row.tags;
    this.#readTags = readTags;
  }

  get tags(): Record<string, string> {
    this.#tags ??= this.#readTags(this.#tagsJson);
    return this.#tags;
  }
}

/** True when `pattern` (with `*` matching any run of characters) matches all of `value`. */
export function globMatches(pattern: string, value: string): boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === value;
  const [first = "", ...rest] = parts;
  const last = rest.pop() ?? "";
  if (!value.startsWith(first) || value.length < first.length + last.length || !value.endsWith(last)) {
    return false;
  }
  let at = first.length;
  const end = value.length - last.length;
  for (const part of rest) {
    const found = value.indexOf(part, at);
    if (found === -1 || found + part.length > end) return false;
    at = found + part.length;
  }
  return true;
}

/**
 * How specific a match is, or -1 when it does not match: each exact field counts 2, each
 * wildcard field 1, each tag 2. The most specific policy wins; the earlier one in the file on a
 * tie. So `model: fraud-gbm` beats `model: "fraud-*"`, which beats a policy that names only
 * the environment.
 */
export function matchScore(match: PolicyMatch, subject: PolicySubject): number {
  let score = 0;
  for (const field of ["model", "environment", "owner_team"] as const) {
    const pattern = match[field];
    if (pattern === undefined) continue;
    if (!globMatches(pattern, subject[field])) return -1;
    score += pattern.includes("*") ? 1 : 2;
  }
  for (const [key, value] of Object.entries(match.tags ?? {})) {
    if (subject.tags[key] !== value) return -1;
    score += 2;
  }
  return score;
}

/**
 * The policy that governs a deployment: the most specific match, the earlier on a tie, or
 * `fallback` (the file's defaults) when none matches.
 */
export function choosePolicy(policies: readonly Policy[], subject: PolicySubject, fallback: Policy): Policy {
  let best = fallback;
  let bestScore = -1;
  for (const policy of policies) {
    const score = matchScore(policy.match, subject);
    if (score > bestScore) {
      best = policy;
      bestScore = score;
    }
  }
  return best;
}

type FieldTest = {
  field: "model" | "environment" | "owner_team";
  test: (value: string) => boolean;
  weight: number;
};

/** A glob as the cheapest test that decides it: equality, a prefix, a suffix, or a regular expression. */
function compileGlob(pattern: string): (value: string) => boolean {
  const stars = pattern.split("*").length - 1;
  if (stars === 0) return (value) => value === pattern;
  if (pattern === "*") return () => true;
  if (stars === 1 && pattern.endsWith("*")) {
    const prefix = pattern.slice(0, -1);
    return (value) => value.startsWith(prefix);
  }
  if (stars === 1 && pattern.startsWith("*")) {
    const suffix = pattern.slice(1);
    return (value) => value.endsWith(suffix);
  }
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  const regex = new RegExp(`^${source}$`, "s");
  return (value) => regex.test(value);
}

/** Distinct values of one field remembered at most; past it the memo starts again. */
const MEMO_LIMIT = 10_000;

const SUBJECT_FIELDS = ["model", "environment", "owner_team"] as const;

/**
 * `choosePolicy` compiled once for a set of policies: each glob becomes the cheapest test that
 * decides it, and a deployment's tags are read only when a policy matches on tags. The sweep
 * asks this for every live deployment, so it is worth the compile. Which policies a field's
 * value passes is remembered per value (a fleet has far fewer models, environments and teams
 * than deployments), so a choice is one pass over flags rather than a glob test per policy.
 */
export function compilePolicies(
  policies: readonly Policy[],
  fallback: Policy,
): (subject: PolicySubject) => Policy {
  const compiled = policies.map((policy) => {
    const fields: FieldTest[] = [];
    for (const field of SUBJECT_FIELDS) {
      const pattern = policy.match[field];
      if (pattern !== undefined)
        fields.push({ field, test: compileGlob(pattern), weight: pattern.includes("*") ? 1 : 2 });
    }
    const tags = Object.entries(policy.match.tags ?? {});
    const score = fields.reduce((sum, f) => sum + f.weight, 0) + tags.length * 2;
    return { policy, fields, tags, score };
  });
  // Per field, per value: 1 where a policy's test of that field passes (or it has none).
  const memos = SUBJECT_FIELDS.map(() => new Map<string, Uint8Array>());
  const passes = (f: number, value: string): Uint8Array => {
    const memo = memos[f] as Map<string, Uint8Array>;
    let flags = memo.get(value);
    if (flags) return flags;
    const field = SUBJECT_FIELDS[f];
    flags = new Uint8Array(compiled.length);
    compiled.forEach((c, i) => {
      const test = c.fields.find((t) => t.field === field);
      flags[i] = !test || test.test(value) ? 1 : 0;
    });
    if (memo.size >= MEMO_LIMIT) memo.clear();
    memo.set(value, flags);
    return flags;
  };
  return (subject) => {
    const model = passes(0, subject.model);
    const environment = passes(1, subject.environment);
    const team = passes(2, subject.owner_team);
    let best = fallback;
    let bestScore = -1;
    candidates: for (let i = 0; i < compiled.length; i++) {
      if (((model[i] as number) & (environment[i] as number) & (team[i] as number)) === 0) continue;
      const c = compiled[i] as (typeof compiled)[number];
      if (c.score <= bestScore) continue;
      if (c.tags.length > 0) {
        const tags = subject.tags;
        for (const [key, value] of c.tags) if (tags[key] !== value) continue candidates;
      }
      best = c.policy;
      bestScore = c.score;
    }
    return best;
  };
}

/** Which policy governs a deployment. */
export interface PolicySource {
  policyFor(subject: PolicySubject): Policy;
}

/** The built-in defaults as a whole policy: 90 days, review at 0.8, no other limits. */
export function defaultPolicy(): Policy {
  return {
    ...DEFAULT_POLICY,
    match: {},
    max_data_age_seconds: null,
    silence_after_seconds: null,
    exempt: false,
    reason: null,
    expire_action: "review",
    repeat_interval_seconds: 86_400,
    performance: null,
    drift: DEFAULT_DRIFT_POLICY,
    guardrail: null,
    notify: {},
    max_age_auto: null,
    ttl_suggestion: DEFAULT_TTL_SUGGESTION,
  };
}

/** A source that applies one policy to every deployment. */
export function singlePolicy(policy: Policy = defaultPolicy()): PolicySource {
  return { policyFor: () => policy };
}
