import { describe, expect, it } from "vitest";
import { dialects, freshStoresEach } from "../support/databases.js";

const T0 = Date.parse("2026-12-07T09:00:00.000Z");
const TTL = 30_000;

describe.each(dialects())("leases (%s)", (dialect) => {
  const fresh = freshStoresEach(dialect);

  it("of ten processes asking for a free lease at the same moment, exactly one gets it", async () => {
    const holders = Array.from({ length: 10 }, (_, i) => `replica-${i}`);
    const leases = await Promise.all(holders.map((h) => fresh.stores().leases.acquire("sweep", h, T0, TTL)));
    const won = leases.filter((l) => l !== undefined);
    expect(won).toHaveLength(1);
    expect(won[0]).toMatchObject({ name: "sweep", fencing_token: 1, expires_at: T0 + TTL });
    expect(await fresh.stores().leases.current("sweep")).toMatchObject({ holder: won[0]?.holder });
  });

  it("a held lease is refused to others until it expires, then taken over with a higher fencing token", async () => {
    const first = await fresh.stores().leases.acquire("sweep", "a", T0, TTL);
    expect(first?.fencing_token).toBe(1);
    expect(await fresh.stores().leases.acquire("sweep", "b", T0 + TTL - 1, TTL)).toBeUndefined();
    const second = await fresh.stores().leases.acquire("sweep", "b", T0 + TTL, TTL);
    expect(second).toMatchObject({ holder: "b", fencing_token: 2, expires_at: T0 + 2 * TTL });
    if (!first || !second) throw new Error("unreachable");
    // The first holder, back from a stall, can neither renew, nor pass the fence, nor free b's lease.
    expect(await fresh.stores().leases.renew(first, T0 + TTL + 1, TTL)).toBeUndefined();
    expect(await fresh.stores().leases.holds(first)).toBe(false);
    await fresh.stores().leases.release(first);
    expect(await fresh.stores().leases.holds(second)).toBe(true);
    expect(await fresh.stores().leases.acquire("sweep", "c", T0 + TTL + 2, TTL)).toBeUndefined();
  });

  it("renewing keeps a lease past its first expiry; releasing frees it at once, and tokens keep growing", async () => {
    const lease = await fresh.stores().leases.acquire("sweep", "a", T0, TTL);
    if (!lease) throw new Error("not acquired");
    expect(await fresh.stores().leases.renew(lease, T0 + TTL - 5, TTL)).toMatchObject({
      expires_at: T0 + 2 * TTL - 5,
    });
    expect(await fresh.stores().leases.acquire("sweep", "b", T0 + TTL + 5, TTL)).toBeUndefined();
    await fresh.stores().leases.release(lease);
    // A renewal that was in flight as the holder released it does not take the lease back.
    expect(await fresh.stores().leases.renew(lease, T0 + TTL + 5, TTL)).toBeUndefined();
    const next = await fresh.stores().leases.acquire("sweep", "b", T0 + TTL + 6, TTL);
    expect(next?.fencing_token).toBe(2);
    // Other names are other leases.
    expect((await fresh.stores().leases.acquire("other", "a", T0, TTL))?.fencing_token).toBe(1);
  });

  // SQLite has one writer at a time: no takeover can interleave with a transaction there.
  it.skipIf(dialect === "sqlite")(
    "a fence checked inside a transaction holds off a takeover until that transaction commits",
    async () => {
      const first = await fresh.stores().leases.acquire("sweep", "a", T0, TTL);
      if (!first) throw new Error("not acquired");
      let takeover: Promise<unknown> | undefined;
      const order: string[] = [];
      await fresh.stores().transaction(async (tx) => {
        expect(await tx.leases.holds(first)).toBe(true);
        takeover = fresh
          .stores()
          .leases.acquire("sweep", "b", T0 + TTL, TTL)
          .then((lease) => {
            order.push("takeover");
            return lease;
          });
        await new Promise((done) => setTimeout(done, 200));
        order.push("fenced write committed");
      });
      expect(await takeover).toMatchObject({ holder: "b", fencing_token: 2 });
      expect(order).toEqual(["fenced write committed", "takeover"]);
    },
  );
});
