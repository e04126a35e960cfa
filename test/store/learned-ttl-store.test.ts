import { describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { newRow, registryFor, T0 } from "../support/registry-fixture.js";

describe.each(dialects())("the learned TTL store (%s)", (dialect) => {
  const registry = registryFor(dialect, ["fraud-gbm", "churn-xgb"]);

  it("lists every model and environment with a live deployment, sorted, optionally one environment's", async () => {
    const { stores } = registry;
    await stores.deployments.insertDeployments([
      newRow("fraud-gbm", { deployment_date: T0, status: "superseded", ended_at: T0 + 1 }),
      newRow("fraud-gbm", { deployment_date: T0 + 2, status: "superseded", ended_at: T0 + 3 }),
      newRow("fraud-gbm", { deployment_date: T0 + 4 }),
      newRow("fraud-gbm", { deployment_date: T0 + 5, status: "scheduled" }),
      newRow("fraud-gbm", { deployment_date: T0 + 9 }),
      newRow("fraud-gbm", { deployment_date: T0 + 1, environment: "staging" }),
      newRow("churn-xgb", { deployment_date: T0 + 3 }),
    ]);
    expect(await stores.learnedTtls.liveModelEnvironments()).toEqual([
      { model: "churn-xgb", environment: "production" },
      { model: "fraud-gbm", environment: "production" },
      { model: "fraud-gbm", environment: "staging" },
    ]);
    expect(await stores.learnedTtls.liveModelEnvironments({ environment: "staging" })).toEqual([
      { model: "fraud-gbm", environment: "staging" },
    ]);
  });

  it("keeps one learned TTL per model, environment and policy, written over by the next sweep", async () => {
    const { stores } = registry;
    const row = {
      model: "fraud-gbm",
      environment: "production",
      policy: "learned",
      ttl_seconds: 23 * 86_400,
      reason: "first",
      evidence: '{"metric":"auc"}',
      learned_at: T0,
      announced_ttl_seconds: 23 * 86_400,
      announced_bounds: '{"min_seconds":1}',
      announced_at: T0,
    };
    await stores.learnedTtls.upsertLearnedTtls([row, { ...row, policy: "other", ttl_seconds: null }]);
    // A sweep that changed no TTL in force writes no announcement: the stored one is kept.
    const unannounced = { announced_ttl_seconds: null, announced_bounds: null, announced_at: null };
    await stores.learnedTtls.upsertLearnedTtls([
      { ...row, ttl_seconds: 30 * 86_400, reason: "second", learned_at: T0 + 1, ...unannounced },
    ]);
    expect(await stores.learnedTtls.listLearnedTtls()).toEqual(
      expect.arrayContaining([
        { ...row, ttl_seconds: 30 * 86_400, reason: "second", learned_at: T0 + 1 },
        { ...row, policy: "other", ttl_seconds: null },
      ]),
    );
    await stores.learnedTtls.announceLearnedTtl(
      { model: "fraud-gbm", environment: "production", policy: "other" },
      { ttl_seconds: 60 * 86_400, bounds: "{}", at: T0 + 2 },
    );
    expect(
      await stores.learnedTtls.findLearnedTtl({
        model: "fraud-gbm",
        environment: "production",
        policy: "other",
      }),
    ).toMatchObject({ announced_ttl_seconds: 60 * 86_400, announced_bounds: "{}", announced_at: T0 + 2 });
    expect(
      await stores.learnedTtls.findLearnedTtl({
        model: "fraud-gbm",
        environment: "production",
        policy: "other",
      }),
    ).toMatchObject({ ttl_seconds: null });
    expect(
      await stores.learnedTtls.findLearnedTtl({ model: "nope", environment: "production", policy: "other" }),
    ).toBeUndefined();
  });

  it("reads the newest event of a type of each deployment named, and none of the others", async () => {
    const { stores } = registry;
    const [a, b, c] = await stores.deployments.insertDeployments([
      newRow("churn-xgb", { deployment_date: T0 + 10 }),
      newRow("churn-xgb", { deployment_date: T0 + 11 }),
      newRow("churn-xgb", { deployment_date: T0 + 12 }),
    ]);
    if (!a || !b || !c) throw new Error("three deployments were inserted");
    const event = (deployment_id: number, type: string, to_seconds: number) => ({
      deployment_id,
      model: "churn-xgb",
      environment: "production",
      type,
      actor: "test",
      at: T0 + to_seconds,
      data: { to_seconds },
    });
    await stores.deployments.appendEvents([
      event(a.id, "learned_ttl_changed", 1),
      event(a.id, "learned_ttl_changed", 2),
      event(a.id, "reviewed", 3),
      event(b.id, "learned_ttl_changed", 4),
      event(c.id, "learned_ttl_changed", 5),
    ]);
    const latest = await stores.learnedTtls.latestEventsOf("learned_ttl_changed", [a.id, b.id, 999_999]);
    expect(latest.map((e) => [e.deployment_id, JSON.parse(e.data).to_seconds])).toEqual([
      [a.id, 2],
      [b.id, 4],
    ]);
    expect(await stores.learnedTtls.latestEventsOf("learned_ttl_changed", [])).toEqual([]);
  });
});
