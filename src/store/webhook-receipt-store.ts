import { BoundStore } from "./bound-store.js";

/** One signed webhook delivery: who sent it, its id, and when it was signed and received. */
export interface WebhookReceipt {
  source: string;
  delivery_id: string;
  /** Epoch ms of the delivery's signed timestamp. */
  signed_at: number;
  received_at: number;
}

/**
 * The deliveries of signed webhooks already taken, so that a replay (an attacker's, or a sender's
 * retry of a delivery already done) changes nothing.
 */
export interface WebhookReceiptStore {
  /**
   * Takes a delivery: true when its id was not taken before, false for a replay. Deletes first
   * the receipts signed before `expiredBefore`, which no replay can reuse: a delivery signed
   * then is refused for its time alone.
   */
  claim(receipt: WebhookReceipt, expiredBefore: number): Promise<boolean>;
  /** Gives a delivery back, so that the sender's retry is taken: its work failed and changed nothing. */
  release(source: string, deliveryId: string): Promise<void>;
}

export class SqlWebhookReceiptStore extends BoundStore implements WebhookReceiptStore {
  async claim(receipt: WebhookReceipt, expiredBefore: number): Promise<boolean> {
    await this.executor.deleteFrom("webhook_receipts").where("signed_at", "<", expiredBefore).execute();
    // The primary key decides between two copies of a delivery that arrive at once: one inserts.
    const result = await this.executor
      .insertInto("webhook_receipts")
      .values(receipt)
      .onConflict((oc) => oc.columns(["source", "delivery_id"]).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  async release(source: string, deliveryId: string): Promise<void> {
    await this.executor
      .deleteFrom("webhook_receipts")
      .where("source", "=", source)
      .where("delivery_id", "=", deliveryId)
      .execute();
  }
}
