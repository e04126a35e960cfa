import { describe, expect, it } from "vitest";
import type { PendingRegistration } from "../../src/registry/register-round.js";
import { splitRounds } from "../../src/registry/register-round.js";

const pending = (model: string, scopeKey?: string) =>
  ({ body: { model }, scope_key: scopeKey }) as unknown as PendingRegistration;

describe("splitRounds", () => {
  it("keeps distinct models in one round", () => {
    expect(splitRounds([pending("a"), pending("b"), pending("c")])).toEqual([[0, 1, 2]]);
  });

  it("puts each repeat of a model in a later round, in arrival order", () => {
    const rounds = splitRounds([pending("a"), pending("b"), pending("a"), pending("a"), pending("c")]);
    expect(rounds).toEqual([[0, 1, 4], [2], [3]]);
  });

  it("never lets an item overtake an earlier one it shares a key with", () => {
    // b's second registration shares its idempotency key with a's second, which must wait for a.
    const rounds = splitRounds([pending("a"), pending("a", "k"), pending("b", "k")]);
    expect(rounds).toEqual([[0], [1], [2]]);
  });
});
