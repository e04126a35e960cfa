import { type Policy, withLearnedTtl } from "../core/policy.js";
import { lockKeyOf } from "../registry/registry-rules.js";
import type { NewEvent } from "../store/deployment-store.js";
import type { DeploymentRow, LearnedTtlRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { announceTtlsInForce } from "./announced-ttls.js";
import { ModelDecays } from "./model-decays.js";
import type { PolicyBook } from "./policy-book.js";
import { SWEEP_ACTOR } from "./sweep-pass.js";
import { announcementOf, summaryOf, ttlChangeEvent } from "./ttl-changes.js";
import { suggestionFor } from "./ttl-suggestions.js";

/**
 * `max_age: auto`: each sweep learns, for every model and environment with a live deployment
 * governed by an `auto` policy, the TTL its decay suggests, stores it (learned_ttls), and records
 * a `learned_ttl_changed` event on the affected live deployments when the TTL they are judged by
 * changes (a reload whose bounds change it records its own: see reloaded-ttls.ts; one that no
 * reload recorded, such as a file edited while no server ran, is told at the next start or
 * sweep: see announced-ttls.ts). Every view
 * reads the TTL from the PolicyBook, which holds the stored TTLs: loaded at start, after each
 * sweep by the process that swept, and every `refreshMs` by each server, so replicas sharing a
 * database judge by the same TTL (within one refresh of a sweep).
 */

/** What a sweep's learning did. */
export interface LearningOutcome {
  /** Models, environments and `auto` policies learned. */
  learned: number;
  /** Those whose TTL in force changed. */
  changed: number;
  /** Events written (0 in a preview). */
  events: number;
  /**
   * The policy each deployment is judged by in this pass: with the TTLs just learned. A preview's
   * are held here, in memory, and nowhere else.
   */
  policyOf: (row: DeploymentRow) => Policy;
}

export interface TtlLearnerOptions {
  stores: Stores;
  policies: PolicyBook;
  policyOf: (row: DeploymentRow) => Policy;
}

export class TtlLearner {
  constructor(private readonly options: TtlLearnerOptions) {}

  /** Reads the stored TTLs into the policies in force; returns them. */
  async refresh(stores: Pick<Stores, "learnedTtls"> = this.options.stores): Promise<LearnedTtlRow[]> {
    const rows = await stores.learnedTtls.listLearnedTtls();
    this.options.policies.setLearnedTtls(rows);
    return rows;
  }

  /**
   * Tells the live deployments of every TTL in force that changed with no event (bounds edited
   * while no server ran, a reload whose events failed): at start and before each sweep learns.
   */
  announce(at: number, actor: string): Promise<number> {
    const { stores, policies } = this.options;
    return announceTtlsInForce({ stores, policies, at, actor });
  }

  /**
   * Learns the TTLs at `at`, after telling of any TTL in force that changed unannounced (see
   * `announce`). A preview (`dryRun`) computes and counts them and writes nothing:
   * its outcome's `policyOf` judges by them. `fence` runs first in the transaction that writes
   * (the sweep lease's check). The curves come from `curves` (the sweep's, which its forecasts
   * then reuse), learned at `at`.
   */
  async learn(
    at: number,
    dryRun: boolean,
    fence?: (tx: Stores) => Promise<void>,
    curves: ModelDecays = new ModelDecays(this.options.stores, at),
  ): Promise<LearningOutcome> {
    const { stores, policies, policyOf } = this.options;
    const outcome: LearningOutcome = { learned: 0, changed: 0, events: 0, policyOf };
    if (!policies.learnsTtls) return outcome;
    const previous = await this.refresh();
    if (!dryRun) outcome.events += await this.announce(at, SWEEP_ACTOR.name);
    const before = new Map(previous.map((r) => [keyOf(r.policy, r.model, r.environment), r]));
    // With those a preview's promotions would make live (`curves.foresee`): the sweep promotes first.
    const pairs = curves.withForeseen(await stores.learnedTtls.liveModelEnvironments());
    const isGoverned = (row: DeploymentRow) =>
      row.status === "active" && row.deployment_date <= at && policyOf(row).max_age_auto !== null;
    const decays = await curves.decaysOf(policyOf, pairs, (rows) => rows.some(isGoverned));
    const rows: LearnedTtlRow[] = [];
    const events: NewEvent[] = [];
    for (const { decay, rows: started } of decays) {
      // The live deployments under each `auto` policy: each policy learns its own TTL (its bounds,
      // lead time) from the model's one curve.
      const live = new Map<string, { policy: Policy; rows: DeploymentRow[] }>();
      for (const row of started) {
        if (!isGoverned(row)) continue;
        const policy = policyOf(row);
        const group = live.get(policy.name) ?? { policy, rows: [] };
        group.rows.push(row);
        live.set(policy.name, group);
      }
      for (const { policy, rows: governed } of live.values()) {
        const suggestion = suggestionFor(decay, policy);
        const row: LearnedTtlRow = {
          model: decay.model,
          environment: decay.environment,
          policy: policy.name,
          ttl_seconds: suggestion.suggested_max_age_seconds,
          reason: suggestion.reason,
          evidence: suggestion.evidence ? JSON.stringify(suggestion.evidence) : null,
          learned_at: at,
          announced_ttl_seconds: null,
          announced_bounds: null,
          announced_at: null,
        };
        rows.push(row);
        const old = before.get(keyOf(policy.name, decay.model, decay.environment));
        const from = withLearnedTtl(policy, old?.ttl_seconds);
        const to = withLearnedTtl(policy, row.ttl_seconds);
        // The TTL in force its deployments are told of (or, learned the first time, find in force);
        // an unchanged one keeps its announcement.
        if (!old || from.max_age_seconds !== to.max_age_seconds) {
          const announced = announcementOf(to, at);
          row.announced_ttl_seconds = announced.ttl_seconds;
          row.announced_bounds = announced.bounds;
          row.announced_at = announced.at;
        }
        if (from.max_age_seconds === to.max_age_seconds) continue;
        outcome.changed++;
        for (const deployment of governed) {
          events.push(
            ttlChangeEvent(
              deployment,
              { actor: SWEEP_ACTOR.name, at },
              {
                policy: policy.name,
                from_seconds: from.max_age_seconds,
                to_seconds: to.max_age_seconds,
                source: to.ttl_source ?? "learned",
                suggested_max_age_seconds: row.ttl_seconds,
                reason: row.reason,
                evidence: summaryOf(suggestion.evidence),
              },
            ),
          );
        }
      }
    }
    outcome.learned = rows.length;
    if (dryRun) return { ...outcome, policyOf: withLearned(policyOf, rows) };
    if (rows.length === 0) return outcome;
    await stores.transaction(async (tx) => {
      await fence?.(tx);
      // The announcements written here and those a reload or a start writes take turns per model.
      await tx.lockKeys(rows.map((r) => lockKeyOf(r.model, r.environment)));
      await tx.learnedTtls.upsertLearnedTtls(rows);
      if (events.length > 0) await tx.deployments.appendEvents(events);
    });
    outcome.events += events.length;
    await this.refresh();
    return outcome;
  }
}

/** `policyOf` with `rows` learned in place of the stored TTLs they stand for (a preview's). */
function withLearned(
  policyOf: (row: DeploymentRow) => Policy,
  rows: LearnedTtlRow[],
): (row: DeploymentRow) => Policy {
  const learned = new Map(rows.map((r) => [keyOf(r.policy, r.model, r.environment), r.ttl_seconds]));
  return (row) => {
    const policy = policyOf(row);
    const key = keyOf(policy.name, row.model, row.environment);
    return policy.max_age_auto && learned.has(key) ? withLearnedTtl(policy, learned.get(key)) : policy;
  };
}

function keyOf(policy: string, model: string, environment: string): string {
  return `${policy}\u0000${model}\u0000${environment}`;
}
