import { type ShadowSummary, summarizePairs } from "../core/compare/shadow-summary.js";
import { type ShadowVerdict, shadowVerdict, type VerdictOptions } from "../core/compare/shadow-verdict.js";
import { NotFoundError } from "../core/errors.js";
import type { Label, ShadowPairRecord } from "../store/shadow-store.js";
import type { Stores } from "../store/stores.js";

/** Pairs and labels older than this are deleted: 30 days. */
export const DEFAULT_RETENTION_MS = 30 * 86_400_000;
/** A comparison reads at most this many of a shadow's newest pairs: its memory stays bounded. */
export const COMPARISON_LIMIT = 100_000;
/** Pruning runs at most this often, from the writes themselves. */
const PRUNE_EVERY_MS = 3_600_000;

export interface ShadowMonitorOptions {
  stores: Stores;
  clock: () => number;
  retentionMs?: number;
  verdict?: VerdictOptions;
}

/** One shadow of a model against its live primary. */
export interface ShadowComparison extends ShadowSummary {
  deployment_id: number;
  model_version: string;
  /** Pairs whose request has a label. */
  labelled: number;
  verdict: ShadowVerdict;
}

/** `GET /v1/models/{name}/shadow`: every live shadow of a model in an environment, against the primary. */
export interface ShadowView {
  model: string;
  environment: string;
  primary: { deployment_id: number; model_version: string } | null;
  shadows: ShadowComparison[];
  /** Pairs read per shadow at most (the newest). */
  window_limit: number;
  retention_seconds: number;
}

/**
 * Shadow validation on the registry's side: records the pairs gateways report and the ground
 * truth that arrives later, and compares each shadow with its primary on the same requests.
 */
export class ShadowMonitor {
  readonly #stores: Stores;
  readonly #clock: () => number;
  readonly #retentionMs: number;
  readonly #verdict: VerdictOptions;
  #lastPrune = Number.NEGATIVE_INFINITY;

  constructor(options: ShadowMonitorOptions) {
    this.#stores = options.stores;
    this.#clock = options.clock;
    this.#retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.#verdict = options.verdict ?? {};
  }

  /**
   * Stores a report's pairs (TrafficReport.pairs). Pairs naming a deployment the registry does
   * not have, or older than the retention, are left out and counted; a pair already stored is
   * kept as it was (a retried report). The traffic ingestion (`POST /v1/traffic`, or a gateway
   * that opened the database itself) calls it with `report.pairs`, in its own transaction when
   * it passes `tx`.
   */
  async recordPairs(
    pairs: readonly ShadowPairRecord[],
    tx: Stores = this.#stores,
  ): Promise<{ recorded: number; ignored: number }> {
    if (pairs.length === 0) return { recorded: 0, ignored: 0 };
    const now = this.#clock();
    const ids = [...new Set(pairs.flatMap((p) => [p.primary_id, p.shadow_id]))];
    const known = new Set((await tx.deployments.findDeployments(ids)).map((d) => d.id));
    const oldest = now - this.#retentionMs;
    const kept = pairs.filter((p) => known.has(p.primary_id) && known.has(p.shadow_id) && p.at >= oldest);
    const recorded = await tx.shadows.insertPairs(kept, now);
    await this.#pruneNow(now, tx);
    return { recorded, ignored: pairs.length - kept.length };
  }

  /** Stores ground truth by request id; a request not seen (yet) is stored all the same. */
  async recordFeedback(
    items: readonly { request_id: string; label: Label }[],
  ): Promise<{ accepted: number }> {
    const now = this.#clock();
    await this.#stores.shadows.upsertFeedback([...items], now);
    await this.#pruneNow(now);
    return { accepted: items.length };
  }

  /** Deletes pairs and labels past the retention. */
  async prune(): Promise<{ pairs: number; feedback: number }> {
    const now = this.#clock();
    this.#lastPrune = now;
    return this.#stores.shadows.prune(now - this.#retentionMs);
  }

  async compare(model: string, environment: string): Promise<ShadowView> {
    if (!(await this.#stores.models.findModel(model)))
      throw new NotFoundError(`model ${model} does not exist`);
    const live = (await this.#stores.deployments.listLiveForModels([model])).filter(
      (d) => d.environment === environment,
    );
    const primary = live.find((d) => d.role === "primary") ?? null;
    const shadows = live.filter((d) => d.role === "shadow").sort((a, b) => a.id - b.id);
    const comparisons: ShadowComparison[] = [];
    for (const shadow of shadows) {
      const pairs = primary
        ? await this.#stores.shadows.pairsOf(shadow.id, primary.id, COMPARISON_LIMIT)
        : [];
      const labelled = pairs.flatMap((p) =>
        p.label === null
          ? []
          : [
              {
                primary_prediction: p.primary_prediction,
                shadow_prediction: p.shadow_prediction,
                label: p.label,
              },
            ],
      );
      comparisons.push({
        deployment_id: shadow.id,
        model_version: shadow.model_version,
        ...summarizePairs(pairs),
        labelled: labelled.length,
        verdict: shadowVerdict(labelled, this.#verdict),
      });
    }
    return {
      model,
      environment,
      primary: primary ? { deployment_id: primary.id, model_version: primary.model_version } : null,
      shadows: comparisons,
      window_limit: COMPARISON_LIMIT,
      retention_seconds: this.#retentionMs / 1000,
    };
  }

  async #pruneNow(now: number, stores: Stores = this.#stores): Promise<void> {
    if (now - this.#lastPrune < PRUNE_EVERY_MS) return;
    this.#lastPrune = now;
    await stores.shadows.prune(now - this.#retentionMs);
  }
}
