import { formatDuration } from "../core/duration.js";
import { type Policy, type PolicySubject, StoredSubject } from "../core/policy.js";
import { lockKeyOf } from "../registry/registry-rules.js";
import type { NewEvent } from "../store/deployment-store.js";
import { parseJsonColumn, parseStoredJson, parseTags } from "../store/json-columns.js";
import type { DeploymentRow, LearnedTtlRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { TtlEvidenceSchema } from "./learned-ttl-view.js";
import {
  announcementOf,
  boundsChanges,
  LEARNED_TTL_CHANGED,
  summaryOf,
  ttlChangeEvent,
} from "./ttl-changes.js";

/** The policy that governs a subject, its `auto` TTL resolved (PolicyBook.resolver). */
export type PolicyResolver = (subject: PolicySubject) => Policy;

export interface ReloadedTtlsOptions {
  stores: Pick<Stores, "deployments" | "learnedTtls" | "transaction">;
  /** The policies in force before the reload and after it, on the same learned TTLs. */
  before: PolicyResolver;
  after: PolicyResolver;
  at: number;
  /** Who reloaded: the token's name, or `signal:SIGHUP`. */
  actor: string;
}

/** Live deployments read, and their events written, at a time. */
const PAGE = 1000;

/**
 * Records what a policy file's reload did to the TTLs of `max_age: auto`: a `learned_ttl_changed`
 * event on each live deployment governed by an `auto` policy whose TTL in force the reload
 * changed (its bounds clamp the learned TTL differently, its fallback changed, or another policy
 * now governs it); returns how many it wrote.
 *
 * Recorded at the reload, not at the next sweep: learned_ttls keeps the suggestion before the
 * bounds, so a new bound is in force as soon as the file is, and only the reload knows the
 * bounds before it. A deployment whose newest such event already tells of this TTL (another
 * replica reloaded the same file first, or at the same instant: the check and the write hold the
 * model's lock) gets none. The TTLs told are announced on learned_ttls in the same transaction;
 * when that transaction fails, the next start or sweep tells of them (announced-ttls.ts).
 */
export async function recordReloadedTtls(options: ReloadedTtlsOptions): Promise<number> {
  const { stores, before, after, at } = options;
  const stored = new Map(
    (await stores.learnedTtls.listLearnedTtls()).map((r) => [keyOf(r.policy, r.model, r.environment), r]),
  );
  let written = 0;
  for (let afterId = 0; ; ) {
    const rows = await stores.deployments.liveDeployments(afterId, PAGE);
    const changes: TtlChange[] = [];
    for (const row of rows) {
      // A deployment not started yet is judged by no TTL.
      if (row.deployment_date > at) continue;
      const subject = new StoredSubject(row, parseTags);
      const to = after(subject);
      if (!to.max_age_auto) continue;
      const from = before(subject);
      if (from.max_age_seconds !== to.max_age_seconds) changes.push({ row, from, to });
    }
    written += await record(options, changes, stored);
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return written;
    afterId = last.id;
  }
}

interface TtlChange {
  row: DeploymentRow;
  from: Policy;
  to: Policy;
}

async function record(
  options: ReloadedTtlsOptions,
  changes: TtlChange[],
  stored: Map<string, LearnedTtlRow>,
): Promise<number> {
  if (changes.length === 0) return 0;
  const { stores, at } = options;
  // What each deployment was last told is read under its model's lock and written in the same
  // transaction: two replicas reloading the same file at once tell of a change once.
  return stores.transaction(async (tx) => {
    await tx.lockKeys(changes.map(({ row }) => lockKeyOf(row.model, row.environment)));
    const told = new Map(
      (
        await tx.learnedTtls.latestEventsOf(
          LEARNED_TTL_CHANGED,
          changes.map((c) => c.row.id),
        )
      ).map((e) => [e.deployment_id, parseJsonColumn("event_data", e.data)]),
    );
    const events: NewEvent[] = [];
    const announced = new Map<string, TtlChange>();
    for (const change of changes) {
      const { row, to } = change;
      const last = told.get(row.id);
      if (last && last.policy === to.name && last.to_seconds === to.max_age_seconds) continue;
      events.push(eventOf(options, change, stored.get(keyOf(to.name, row.model, row.environment))));
      announced.set(keyOf(to.name, row.model, row.environment), change);
    }
    if (events.length > 0) await tx.deployments.appendEvents(events);
    // With its events, the TTL now in force is the one told: a start or sweep has nothing to add.
    for (const { row, to } of announced.values()) {
      await tx.learnedTtls.announceLearnedTtl(
        { model: row.model, environment: row.environment, policy: to.name },
        announcementOf(to, at),
      );
    }
    return events.length;
  });
}

function eventOf(
  options: ReloadedTtlsOptions,
  { row, from, to }: TtlChange,
  learned?: LearnedTtlRow,
): NewEvent {
  const evidence = learned?.evidence
    ? parseStoredJson("learned_ttls.evidence", TtlEvidenceSchema, learned.evidence)
    : null;
  return ttlChangeEvent(row, options, {
    policy: to.name,
    from_seconds: from.max_age_seconds,
    to_seconds: to.max_age_seconds,
    source: to.ttl_source ?? "fallback",
    suggested_max_age_seconds: learned?.ttl_seconds ?? null,
    reason: reasonOf(from, to),
    evidence: summaryOf(evidence),
  });
}

/**
 * Why the TTL changed: the bounds that set it ("bounds changed: max 60d → 45d"), a `max_age` that
 * became `auto`, or another policy.
 */
export function reasonOf(from: Policy, to: Policy): string {
  const was = from.max_age_auto;
  const now = to.max_age_auto;
  if (from.name !== to.name || !now) return `policy changed: ${from.name} → ${to.name}`;
  if (!was) return `max_age changed: ${formatDuration(from.max_age_seconds)} → auto`;
  // A learned TTL is held within min and max; without one the fallback applies.
  return `bounds changed: ${boundsChanges(to.ttl_source, was, now).join(", ")}`;
}

function keyOf(policy: string, model: string, environment: string): string {
  return `${policy}\u0000${model}\u0000${environment}`;
}
