import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ChannelConfig } from "../alerts/channels/channel-config.js";
import { InputError } from "../core/errors.js";
import {
  compilePolicies,
  matchScore,
  type Policy,
  type PolicySource,
  type PolicySubject,
  withLearnedTtl,
} from "../core/policy.js";
import type { DigestSchedule } from "./digest-schedule.js";
import { defaultPolicyFile, type PolicyFile, type PolicyFileError, parsePolicyFile } from "./policy-file.js";

export interface PolicyExplanation {
  policy: Policy;
  /** Every policy of the file with whether it matched and its score (exact 2, wildcard 1, tag 2). */
  candidates: { name: string; score: number; matched: boolean }[];
  /** One sentence on why this policy won. */
  reason: string;
}

export type ReloadResult =
  | { ok: true; policies: number; channels: number }
  | { ok: false; errors: PolicyFileError[] };

/**
 * The policies in force: from a file (`--policies`, TENURE_POLICIES) or the built-in defaults.
 * A reload swaps them only when the new file is valid, so a typo never leaves the server
 * without policies.
 */
export class PolicyBook implements PolicySource {
  private file: PolicyFile;
  /** SHA-256 (hex) of the file text in force, before `${VAR}`s are filled in; null for the defaults. */
  private fileSha256: string | null = null;
  private choose: (subject: PolicySubject) => Policy;
  /** The TTLs sweeps learned, by policy, model and environment (see learnedKey). */
  private learned = new Map<string, number | null>();
  /** `auto` policies resolved per model and environment: the sweep asks for every live deployment. */
  private resolved = new Map<string, Policy>();
  /**
   * When this process read the policies in force (epoch ms, by its clock: set at start and by
   * each reload): a TTL in force announced later than this was announced by a replica with a
   * newer file, which this one must not contradict (see announceTtlsInForce).
   */
  readAt = 0;

  constructor(
    readonly path: string | null,
    private readonly env: Record<string, string | undefined>,
    file?: PolicyFile,
  ) {
    this.file = file ?? defaultPolicyFile();
    this.choose = compilePolicies(this.file.policies, this.file.defaults);
  }

  /** Loads the file at `path`; an unreadable or invalid file is an InputError naming each error. */
  static load(path: string | null, env: Record<string, string | undefined>): PolicyBook {
    const book = new PolicyBook(path, env);
    const result = book.reload();
    if (!result.ok) {
      throw new InputError(
        `policy file ${path} is not valid: ${result.errors.map((e) => `${e.line}:${e.column} ${e.message}`).join("; ")}`,
      );
    }
    return book;
  }

  get channels(): Record<string, ChannelConfig> {
    return this.file.channels;
  }

  /** The rot report's digest schedule, or null when the file schedules none. */
  get report(): DigestSchedule | null {
    return this.file.report;
  }

  get policies(): readonly Policy[] {
    return this.file.policies;
  }

  get defaults(): Policy {
    return this.file.defaults;
  }

  /** Reads the file again; keeps the policies in force when it is unreadable or invalid. */
  reload(): ReloadResult {
    if (this.path === null) {
      return { ok: true, policies: 0, channels: 0 };
    }
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      const code = (error as { code?: string }).code;
      const message =
        code === "ENOENT" ? `${this.path} does not exist` : `${this.path} cannot be read (${code})`;
      return { ok: false, errors: [{ line: 0, column: 0, message }] };
    }
    const result = parsePolicyFile(text, this.env);
    if (!result.ok) return result;
    this.file = result.file;
    this.resolved.clear();
    this.fileSha256 = createHash("sha256").update(text).digest("hex");
    this.choose = compilePolicies(result.file.policies, result.file.defaults);
    return {
      ok: true,
      policies: result.file.policies.length,
      channels: Object.keys(result.file.channels).length,
    };
  }

  /**
   * What identifies the policies in force, for the audit log: the file, its text's hash and its
   * policies' names. Never the text: channels' URLs and secrets may be written in it.
   */
  digest(): { path: string | null; sha256: string | null; policies: string[] } {
    return { path: this.path, sha256: this.fileSha256, policies: this.file.policies.map((p) => p.name) };
  }

  /** The policy of the file named `name` (or the defaults), unresolved; undefined when there is none. */
  named(name: string): Policy | undefined {
    const { policies, defaults } = this.file;
    return policies.find((p) => p.name === name) ?? (defaults.name === name ? defaults : undefined);
  }

  /** The policy that governs a subject; an `auto` one with the TTL learned for its model and environment. */
  policyFor(subject: PolicySubject): Policy {
    const policy = this.choose(subject);
    if (!policy.max_age_auto) return policy;
    const key = learnedKey(policy.name, subject.model, subject.environment);
    const cached = this.resolved.get(key);
    if (cached && cached.match === policy.match) return cached;
    const resolved = withLearnedTtl(policy, this.learned.get(key));
    if (this.resolved.size >= 10_000) this.resolved.clear();
    this.resolved.set(key, resolved);
    return resolved;
  }

  /**
   * The policies in force now, as they resolve each subject (learned TTLs included), kept as they
   * are whatever is reloaded or refreshed later: what a reload changed is told by resolving a
   * deployment before and after it.
   */
  resolver(): (subject: PolicySubject) => Policy {
    const { choose, learned } = this;
    return (subject) => {
      const policy = choose(subject);
      if (!policy.max_age_auto) return policy;
      return withLearnedTtl(policy, learned.get(learnedKey(policy.name, subject.model, subject.environment)));
    };
  }

  /** True when a policy in force (or the defaults) has `max_age: auto`: only then do sweeps learn TTLs. */
  get learnsTtls(): boolean {
    return (
      this.file.defaults.max_age_auto !== null || this.file.policies.some((p) => p.max_age_auto !== null)
    );
  }

  /** The TTL learned for a policy, model and environment: null without a curve, undefined when never learned. */
  learnedTtl(policy: string, model: string, environment: string): number | null | undefined {
    return this.learned.get(learnedKey(policy, model, environment));
  }

  /** Puts the learned TTLs in force (all of them, as the database has them). */
  setLearnedTtls(
    rows: readonly { policy: string; model: string; environment: string; ttl_seconds: number | null }[],
  ) {
    this.learned = new Map(rows.map((r) => [learnedKey(r.policy, r.model, r.environment), r.ttl_seconds]));
    this.resolved.clear();
  }

  explain(subject: PolicySubject): PolicyExplanation {
    const candidates = this.file.policies.map((p) => {
      const score = matchScore(p.match, subject);
      return { name: p.name, score, matched: score >= 0 };
    });
    const policy = this.policyFor(subject);
    const winner = candidates.find((c) => c.name === policy.name && c.matched);
    const ties = winner ? candidates.filter((c) => c.matched && c.score === winner.score).length : 0;
    const reason = !winner
      ? "no policy matches it, so the defaults apply"
      : ties > 1
        ? `it is the first of ${ties} equally specific matches (score ${winner.score}) in the file`
        : `it is the most specific match (score ${winner.score}: exact field 2, wildcard 1, tag 2)`;
    return { policy, candidates, reason };
  }
}

function learnedKey(policy: string, model: string, environment: string): string {
  return `${policy}\u0000${model}\u0000${environment}`;
}
