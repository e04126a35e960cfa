import type { Policy } from "../core/policy.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { decayInputs, decayKey, decaysOf, type ModelDecay } from "./decay-histories.js";
import { MODEL_HISTORY_DEPLOYMENTS } from "./started-deployments.js";

/** One model in one environment: its started deployments as read, and its curve once learned. */
interface Entry {
  rows: DeploymentRow[];
  /** The id of its newest live deployment (0 without one): when a sweep may let it go. */
  newestLive: number;
  learned?: { inputs: string; decay: ModelDecay };
}

/**
 * The decay curves of models at one time, each model and environment read and fitted once
 * however many ask: a sweep's TTL learner and the forecasts of each of its pages share one.
 * A curve is reused only while what it was fitted from is the same — the model's started
 * deployments (read once, until `forget`) and the performance policy of the one that leads, under
 * the `policyOf` of the call (see decayInputs) — so two policies never share a curve.
 *
 * A sweep's learner reads every live model's deployments at once; the sweep lets each model go
 * (`release`) once its pages have passed the model's newest live deployment, so what it keeps
 * shrinks as it goes and its memory stays within what the learner read.
 */
export class ModelDecays {
  private readonly entries = new Map<string, Entry>();
  /** A preview's promotions: deployments by id as they would be once carried out (see foresee). */
  private readonly foreseen = new Map<number, DeploymentRow>();

  constructor(
    private readonly stores: Pick<Stores, "forecasts" | "metrics">,
    /** When the curves are learned: windows and deployments up to this time. */
    readonly now: number,
  ) {}

  /**
   * The decay of each model and environment in `pairs`, with the started deployments it was
   * learned from; only of those whose deployments `keep` accepts (all by default), so no metric
   * is read for the others.
   */
  async decaysOf(
    policyOf: (row: DeploymentRow) => Policy,
    pairs: readonly { model: string; environment: string }[],
    keep: (rows: readonly DeploymentRow[]) => boolean = () => true,
  ): Promise<{ decay: ModelDecay; rows: DeploymentRow[] }[]> {
    await this.readRows(pairs);
    const kept = pairs.map((pair) => ({ pair, entry: this.entryOf(pair) })).filter((k) => keep(k.entry.rows));
    const stale = [...new Map(kept.map((k) => [k.entry, k.pair])).entries()].filter(
      ([entry]) => entry.learned?.inputs !== decayInputs(entry.rows, policyOf),
    );
    const fitted = await decaysOf(
      this.stores.metrics,
      policyOf,
      stale.map(([entry, pair]) => ({ model: pair.model, environment: pair.environment, rows: entry.rows })),
      this.now,
    );
    fitted.forEach((decay, i) => {
      const entry = stale[i]?.[0] as Entry;
      entry.learned = { inputs: decayInputs(entry.rows, policyOf), decay };
    });
    return kept.map(({ entry }) => {
      const decay = (entry.learned as { decay: ModelDecay }).decay;
      // The same curve; the lead's policy as it is now (a learned TTL may have changed its max_age).
      return { decay: { ...decay, policy: decay.lead ? policyOf(decay.lead) : null }, rows: entry.rows };
    });
  }

  /** The decays of `pairs` by decayKey. */
  async byKey(
    policyOf: (row: DeploymentRow) => Policy,
    pairs: readonly { model: string; environment: string }[],
  ): Promise<Map<string, ModelDecay>> {
    const decays = await this.decaysOf(policyOf, pairs);
    return new Map(decays.map(({ decay }) => [decayKey(decay), decay]));
  }

  /**
   * What a preview's promotions would change before a sweep learns: `rows` as they would then be
   * (promoted and dated now, or superseded now). Every read of their models' deployments sees
   * them from here on, so the curves a preview learns TTLs and forecasts from are the sweep's.
   */
  foresee(rows: readonly DeploymentRow[]): void {
    for (const row of rows) {
      this.foreseen.set(row.id, row);
      this.forget(row);
    }
  }

  /** `pairs`, and the models and environments that `foresee` makes live: all a sweep would learn. */
  withForeseen(
    pairs: readonly { model: string; environment: string }[],
  ): { model: string; environment: string }[] {
    const all = new Map(pairs.map((p) => [decayKey(p), p]));
    for (const row of this.foreseen.values()) {
      if (row.status === "active" && !all.has(decayKey(row)))
        all.set(decayKey(row), { model: row.model, environment: row.environment });
    }
    return [...all.values()];
  }

  /** Reads the model's deployments again when next asked: one of them changed (ended, took over). */
  forget(pair: { model: string; environment: string }): void {
    this.entries.delete(decayKey(pair));
  }

  /**
   * Lets go of the models whose live deployments all have ids up to `id`: a sweep, which judges
   * live deployments in the order of their ids, has judged them all. Asked again, one is read anew.
   */
  release(id: number): void {
    for (const [key, entry] of this.entries) if (entry.newestLive <= id) this.entries.delete(key);
  }

  /** Reads the started deployments of the pairs not yet read, in one query. */
  private async readRows(pairs: readonly { model: string; environment: string }[]): Promise<void> {
    const unread = [...new Map(pairs.map((p) => [decayKey(p), p])).values()].filter(
      (p) => !this.entries.has(decayKey(p)),
    );
    if (unread.length === 0) return;
    const rows = await this.stores.forecasts.startedDeploymentsOf(
      unread,
      this.now + 1,
      MODEL_HISTORY_DEPLOYMENTS,
    );
    const read = new Map<string, Entry>(unread.map((p) => [decayKey(p), { rows: [], newestLive: 0 }]));
    for (const row of rows) read.get(decayKey(row))?.rows.push(this.foreseen.get(row.id) ?? row);
    if (this.foreseen.size > 0) foreseeIn(read, this.foreseen);
    for (const [key, entry] of read) {
      for (const row of entry.rows)
        if (row.status === "active") entry.newestLive = Math.max(entry.newestLive, row.id);
      this.entries.set(key, entry);
    }
  }

  private entryOf(pair: { model: string; environment: string }): Entry {
    return this.entries.get(decayKey(pair)) as Entry;
  }
}

/**
 * Adds to the models read the deployments a preview's promotions would make started (scheduled
 * ones, which were not read), in the order and number the store reads them.
 */
function foreseeIn(read: Map<string, Entry>, foreseen: ReadonlyMap<number, DeploymentRow>): void {
  for (const row of foreseen.values()) {
    const entry = read.get(decayKey(row));
    if (!entry || entry.rows.some((r) => r.id === row.id)) continue;
    entry.rows.push(row);
    entry.rows.sort((a, b) => a.deployment_date - b.deployment_date || a.id - b.id);
    if (entry.rows.length > MODEL_HISTORY_DEPLOYMENTS) entry.rows.shift();
  }
}
