import { BoundStore } from "./bound-store.js";
import { type Label, parseValue } from "./shadow-store.js";
import { chunks } from "./write-chunks.js";

/**
 * What one side of a model with a canary predicted for one request: the gateway's
 * CanaryPrediction (src/gateway/traffic-report.ts), restated so the store needs nothing of it.
 */
export interface CanaryPredictionRecord {
  request_id: string;
  deployment_id: number;
  at: number;
  prediction: Label | null;
}

/** A stored prediction whose request has a label. */
export interface LabelledPredictionRow {
  request_id: string;
  at: number;
  prediction: Label | null;
  label: Label;
}

/**
 * The canary's labels: each side's predictions by request id, met with the ground truth of the
 * shadow's `feedback` table when read (a label may arrive before or after its prediction).
 */
export interface CanaryPredictionStore {
  /** Stores predictions; one already stored for that deployment and request id is kept (a retried report). */
  insertPredictions(predictions: CanaryPredictionRecord[], receivedAt: number): Promise<number>;
  /**
   * A deployment's predictions of requests answered in [from, to) that have a label, newest
   * first, at most `limit`.
   */
  labelledOf(deploymentId: number, from: number, to: number, limit: number): Promise<LabelledPredictionRow[]>;
  /** Deletes predictions of requests answered before `before`; returns how many. */
  prune(before: number): Promise<number>;
}

/** SQLite allows 32,766 parameters a statement: 5 columns × 256 rows stay far under. */
export class SqlCanaryPredictionStore extends BoundStore implements CanaryPredictionStore {
  async insertPredictions(predictions: CanaryPredictionRecord[], receivedAt: number): Promise<number> {
    let inserted = 0;
    for (const [start, end] of chunks(predictions.length)) {
      const rows = predictions.slice(start, end).map((p) => ({
        deployment_id: p.deployment_id,
        request_id: p.request_id,
        at: p.at,
        prediction: p.prediction === null ? null : JSON.stringify(p.prediction),
        received_at: receivedAt,
      }));
      const result = await this.executor
        .insertInto("canary_predictions")
        .values(rows)
        .onConflict((oc) => oc.columns(["deployment_id", "request_id"]).doNothing())
        .executeTakeFirst();
      inserted += Number(result.numInsertedOrUpdatedRows ?? 0);
    }
    return inserted;
  }

  async labelledOf(
    deploymentId: number,
    from: number,
    to: number,
    limit: number,
  ): Promise<LabelledPredictionRow[]> {
    const rows = await this.executor
      .selectFrom("canary_predictions as p")
      .innerJoin("feedback as f", "f.request_id", "p.request_id")
      .select(["p.request_id", "p.at", "p.prediction", "f.label"])
      .where("p.deployment_id", "=", deploymentId)
      .where("p.at", ">=", from)
      .where("p.at", "<", to)
      .orderBy("p.at", "desc")
      .orderBy("p.request_id", "desc")
      .limit(limit)
      .execute();
    return rows.flatMap((r) => {
      const label = parseValue(r.label);
      // A label row written by hand that is not a class or a number scores nothing.
      return label === null
        ? []
        : [{ request_id: r.request_id, at: Number(r.at), prediction: parseValue(r.prediction), label }];
    });
  }

  async prune(before: number): Promise<number> {
    const result = await this.executor
      .deleteFrom("canary_predictions")
      .where("at", "<", before)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
