import { describe, expect, it } from "vitest";
import { dialects, freshStoresEach } from "../support/databases.js";

const T0 = Date.parse("2026-12-07T09:00:00.000Z");
const TTL = 30_000;
/** A lost race the transaction retries, as PostgreSQL reports a unique violation. */
const lostRace = () => Object.assign(new Error("duplicate key"), { code: "23505" });

describe.each(dialects())("a transaction's afterCommit (%s)", (dialect) => {
  const fresh = freshStoresEach(dialect);

  it("runs once the writes are committed: another connection then reads them", async () => {
    let seen: Promise<unknown> | undefined;
    let ranInside = false;
    let inside = true;
    await fresh.stores().transaction(async (tx) => {
      await tx.leases.acquire("after-commit", "writer", T0, TTL);
      tx.afterCommit(() => {
        ranInside = inside;
        seen = fresh.stores().leases.current("after-commit");
      });
      inside = false;
    });
    expect(ranInside).toBe(false);
    expect(await seen).toMatchObject({ name: "after-commit", holder: "writer" });
  });

  it("never runs for a transaction that rolls back", async () => {
    let ran = 0;
    await expect(
      fresh.stores().transaction(async (tx) => {
        await tx.leases.acquire("rolled-back", "writer", T0, TTL);
        tx.afterCommit(() => ran++);
        throw new Error("refused");
      }),
    ).rejects.toThrow("refused");
    await new Promise((done) => setImmediate(done));
    expect(ran).toBe(0);
    expect(await fresh.stores().leases.current("rolled-back")).toBeUndefined();
  });

  it("runs once for a transaction retried after a lost race: the failed attempt's hook is dropped", async () => {
    const ran: number[] = [];
    let attempt = 0;
    await fresh.stores().transaction(async (tx) => {
      attempt++;
      const mine = attempt;
      tx.afterCommit(() => ran.push(mine));
      if (mine === 1) throw lostRace();
    });
    expect(attempt).toBe(2);
    expect(ran).toEqual([2]);
  });

  it("outside a transaction, runs on the next turn of the event loop", async () => {
    let ran = false;
    fresh.stores().afterCommit(() => {
      ran = true;
    });
    expect(ran).toBe(false);
    await new Promise((done) => setImmediate(done));
    expect(ran).toBe(true);
  });
});
