import { describe, expect, it } from "vitest";
import { dialects, freshStoresEach } from "../support/databases.js";

const T0 = Date.parse("2026-11-25T12:00:00.000Z");

describe.each(dialects())("webhook receipts (%s)", (dialect) => {
  const fresh = freshStoresEach(dialect);

  const receipt = (delivery_id: string, signed_at = T0, source = "mlflow") => ({
    source,
    delivery_id,
    signed_at,
    received_at: T0,
  });

  it("takes a delivery id once: of two copies claimed at the same moment, exactly one wins", async () => {
    const claims = await Promise.all([
      fresh.stores().webhookReceipts.claim(receipt("d-1"), T0 - 300_000),
      fresh.stores().webhookReceipts.claim(receipt("d-1"), T0 - 300_000),
    ]);
    expect(claims.sort()).toEqual([false, true]);
    expect(await fresh.stores().webhookReceipts.claim(receipt("d-1"), T0 - 300_000)).toBe(false);
    // Another sender's id space is its own.
    expect(await fresh.stores().webhookReceipts.claim(receipt("d-1", T0, "other"), T0 - 300_000)).toBe(true);
  });

  it("takes a released delivery again: the sender's retry of work that failed", async () => {
    expect(await fresh.stores().webhookReceipts.claim(receipt("d-2"), T0 - 300_000)).toBe(true);
    await fresh.stores().webhookReceipts.release("mlflow", "d-2");
    expect(await fresh.stores().webhookReceipts.claim(receipt("d-2"), T0 - 300_000)).toBe(true);
  });

  it("deletes, on each claim, the receipts signed before the tolerance, and keeps the others", async () => {
    await fresh.stores().webhookReceipts.claim(receipt("old", T0 - 400_000), T0 - 600_000);
    await fresh.stores().webhookReceipts.claim(receipt("recent", T0 - 100_000), T0 - 600_000);
    await fresh.stores().webhookReceipts.claim(receipt("new"), T0 - 300_000);
    const left = await fresh
      .database()
      .db.selectFrom("webhook_receipts")
      .select("delivery_id")
      .orderBy("delivery_id")
      .execute();
    expect(left.map((r) => r.delivery_id)).toEqual(["new", "recent"]);
  });
});
