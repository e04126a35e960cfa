import type { LabelledPrediction } from "../core/compare/unpaired-comparison.js";
import type { LabelWindows } from "../gateway/traffic-windows.js";
import type { Actor } from "../registry/actor.js";
import type { CanaryPredictionRecord } from "../store/canary-prediction-store.js";
import type { Stores } from "../store/stores.js";

/**
 * Predictions older than this are deleted: 7 days. They are written for every request of a model
 * with a canary, far more rows than shadow pairs, and a canary is judged in hours or days; labels
 * that arrive later than this no longer score its predictions.
 */
export const PREDICTION_RETENTION_MS = 7 * 86_400_000;
/** An analysis reads at most this many of a side's newest labelled predictions: memory stays bounded. */
export const LABELLED_LIMIT = 100_000;
/** Pruning is one delete on an indexed column, done at most this often, from the writes. */
const PRUNE_EVERY_MS = 600_000;

export interface CanaryLabelsOptions {
  stores: Stores;
  clock: () => number;
  retentionMs?: number;
}

/**
 * The canary's labels on the registry's side: records what each side of a model with a canary
 * predicted (TrafficReport.predictions), and reads them back met with the ground truth of
 * `POST /v1/feedback` (the shadow's feedback, by request id) for the canary's analyses.
 */
export class CanaryLabels implements LabelWindows {
  readonly #stores: Stores;
  readonly #clock: () => number;
  readonly #retentionMs: number;
  #lastPrune = Number.NEGATIVE_INFINITY;

  constructor(options: CanaryLabelsOptions) {
    this.#stores = options.stores;
    this.#clock = options.clock;
    this.#retentionMs = options.retentionMs ?? PREDICTION_RETENTION_MS;
  }

  /**
   * Stores a report's predictions in the report's transaction. Those naming a deployment the
   * registry does not have, that has ended, of another team than the token's, or older than
   * the retention are left out and counted: a gateway's routes may lag the registry by a report.
   * Old rows are pruned from here, at most every ten minutes.
   */
  async recordPredictions(
    tx: Stores,
    predictions: readonly CanaryPredictionRecord[],
    actor: Actor,
  ): Promise<{ recorded: number; ignored: number }> {
    if (predictions.length === 0) return { recorded: 0, ignored: 0 };
    const now = this.#clock();
    const ids = [...new Set(predictions.map((p) => p.deployment_id))];
    const allowed = new Set(
      (await tx.deployments.findDeployments(ids))
        .filter((d) => d.status === "active" && (actor.team === null || actor.team === d.owner_team))
        .map((d) => d.id),
    );
    const oldest = now - this.#retentionMs;
    const kept = predictions.filter((p) => allowed.has(p.deployment_id) && p.at >= oldest);
    const recorded = await tx.canaryPredictions.insertPredictions(kept, now);
    if (now - this.#lastPrune >= PRUNE_EVERY_MS) {
      this.#lastPrune = now;
      await tx.canaryPredictions.prune(oldest);
    }
    return { recorded, ignored: predictions.length - kept.length };
  }

  async labelled(
    deploymentIds: number[],
    from: number,
    to: number,
  ): Promise<Map<number, LabelledPrediction[]>> {
    const result = new Map<number, LabelledPrediction[]>();
    for (const id of new Set(deploymentIds)) {
      const rows = await this.#stores.canaryPredictions.labelledOf(id, from, to, LABELLED_LIMIT);
      result.set(
        id,
        rows.map((r) => ({ prediction: r.prediction, label: r.label })),
      );
    }
    return result;
  }

  /** Deletes predictions past the retention; returns how many. */
  async prune(): Promise<number> {
    const now = this.#clock();
    this.#lastPrune = now;
    return this.#stores.canaryPredictions.prune(now - this.#retentionMs);
  }
}
