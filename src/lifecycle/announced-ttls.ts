import { type Policy, StoredSubject, withLearnedTtl } from "../core/policy.js";
import { lockKeyOf } from "../registry/registry-rules.js";
import type { NewEvent } from "../store/deployment-store.js";
import { parseJsonColumn, parseStoredJson, parseTags } from "../store/json-columns.js";
import type { DeploymentRow, LearnedTtlRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { TtlEvidenceSchema } from "./learned-ttl-view.js";
import type { PolicyBook } from "./policy-book.js";
import {
  announcementOf,
  boundsChanges,
  boundsOf,
  LEARNED_TTL_CHANGED,
  parseBounds,
  summaryOf,
  ttlChangeEvent,
} from "./ttl-changes.js";

export interface AnnouncedTtlsOptions {
  stores: Pick<Stores, "learnedTtls" | "transaction">;
  policies: Pick<PolicyBook, "learnsTtls" | "named" | "policyFor" | "readAt">;
  at: number;
  /** Who tells: `tenure:start`, or the sweep. */
  actor: string;
}

/** Live deployments read at a time. */
const PAGE = 1000;

/**
 * Tells every learned TTL's live deployments of a TTL in force that changed with no event to
 * record it: a policy file edited while no server ran (read at the next start, or by the CLI's
 * local mode), or a reload whose events could not be written. Compares, for each learned TTL, the
 * TTL in force by the policies this process read with the one its deployments were last told
 * of (learned_ttls.announced_*), writes a `learned_ttl_changed` event on each for a difference,
 * and announces the new one; returns how many events it wrote.
 *
 * A learned TTL announced after this process read its policies is left alone: another replica
 * read a newer file (a rolling restart), and this one must not tell of its older bounds. Each
 * difference is read again and settled in one transaction under its model's lock, so replicas
 * starting or sweeping together tell of it once.
 */
export async function announceTtlsInForce(options: AnnouncedTtlsOptions): Promise<number> {
  const { stores, policies } = options;
  if (!policies.learnsTtls) return 0;
  let written = 0;
  for (const row of await stores.learnedTtls.listLearnedTtls()) {
    if (!differenceOf(options, row)) continue;
    written += await stores.transaction(async (tx) => {
      await tx.lockKeys([lockKeyOf(row.model, row.environment)]);
      const fresh = await tx.learnedTtls.findLearnedTtl(row);
      const difference = fresh && differenceOf(options, fresh);
      if (!difference) return 0;
      const events = difference.told === null ? [] : await eventsOf(options, tx, fresh, difference);
      if (events.length > 0) await tx.deployments.appendEvents(events);
      await tx.learnedTtls.announceLearnedTtl(fresh, announcementOf(difference.policy, options.at));
      return events.length;
    });
  }
  return written;
}

interface Difference {
  /** The policy in force, resolved with the learned TTL. */
  policy: Policy;
  /** The TTL last told; null on a row announced before migration 0021 (taken as told). */
  told: number | null;
}

/** How a learned TTL's TTL in force differs from the one announced; undefined when it does not. */
function differenceOf(options: AnnouncedTtlsOptions, row: LearnedTtlRow): Difference | undefined {
  const named = options.policies.named(row.policy);
  if (!named?.max_age_auto) return undefined;
  if (row.announced_at !== null && row.announced_at > options.policies.readAt) return undefined;
  const policy = withLearnedTtl(named, row.ttl_seconds);
  if (row.announced_ttl_seconds === policy.max_age_seconds && row.announced_bounds === boundsOf(policy)) {
    return undefined;
  }
  return { policy, told: row.announced_ttl_seconds };
}

async function eventsOf(
  options: AnnouncedTtlsOptions,
  tx: Stores,
  row: LearnedTtlRow,
  { policy, told }: Difference,
): Promise<NewEvent[]> {
  if (told === policy.max_age_seconds) return [];
  const governed = await governedBy(options, tx, row);
  const last = new Map(
    (
      await tx.learnedTtls.latestEventsOf(
        LEARNED_TTL_CHANGED,
        governed.map((d) => d.id),
      )
    ).map((e) => [e.deployment_id, parseJsonColumn("event_data", e.data)]),
  );
  const evidence = row.evidence
    ? summaryOf(parseStoredJson("learned_ttls.evidence", TtlEvidenceSchema, row.evidence))
    : null;
  const reason = reasonOf(row, policy);
  return governed
    .filter((d) => {
      // Told already (by a reload that wrote its events but, on a database migrated since, no announcement).
      const data = last.get(d.id);
      return !(data && data.policy === policy.name && data.to_seconds === policy.max_age_seconds);
    })
    .map((d) =>
      ttlChangeEvent(d, options, {
        policy: policy.name,
        from_seconds: told,
        to_seconds: policy.max_age_seconds,
        source: policy.ttl_source ?? "fallback",
        suggested_max_age_seconds: row.ttl_seconds,
        reason,
        evidence,
      }),
    );
}

/** The live deployments of a learned TTL's model and environment that its policy governs now. */
async function governedBy(options: AnnouncedTtlsOptions, tx: Stores, row: LearnedTtlRow) {
  const governed: DeploymentRow[] = [];
  const scope = { model: row.model, environment: row.environment };
  for (let afterId = 0; ; ) {
    const rows = await tx.deployments.liveDeployments(afterId, PAGE, scope);
    for (const d of rows) {
      // A deployment not started yet is judged by no TTL.
      if (d.deployment_date > options.at) continue;
      if (options.policies.policyFor(new StoredSubject(d, parseTags)).name === row.policy) governed.push(d);
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return governed;
    afterId = last.id;
  }
}

/** Why: the bounds that changed since the TTL was last told, as far as they were recorded. */
function reasonOf(row: LearnedTtlRow, policy: Policy): string {
  const was = parseBounds(row.announced_bounds);
  const now = policy.max_age_auto;
  const changed = was && now ? boundsChanges(policy.ttl_source, was, now) : [];
  return changed.length > 0
    ? `bounds changed with no reload to record it: ${changed.join(", ")}`
    : "the TTL in force changed with no event to record it";
}
