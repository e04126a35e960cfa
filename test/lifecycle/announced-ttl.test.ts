import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { type Context, openContext } from "../../src/context.js";
import { dialects } from "../support/databases.js";
import { LEARNED_TTL_POLICIES as POLICIES, seedLearnedTtlFleet } from "../support/decay-fleet.js";
import { allowInserts, refuseInserts } from "../support/refuse-inserts.js";
import { getOk, postOk, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();
/** fraud-gbm's learned 23d clamped to 20d; churn-xgb's fallback 60d → 45d. */
const NARROWER = POLICIES.replace("max: 180d, fallback: 60d", "max: 20d, fallback: 45d");

describe.each(dialects())("a TTL in force that changed unannounced on %s", (dialect) => {
  let t: TestApp;
  const replicas: Context[] = [];
  afterEach(async () => {
    for (const r of replicas.splice(0)) await r.close();
    await t?.close();
  });

  const get = (url: string) => getOk(t, url);
  const changes = async (id: number) =>
    (await get(`/v1/deployments/${id}/events`)).items.filter(
      (e: { type: string }) => e.type === "learned_ttl_changed",
    );
  /** A process opening the database as `tenure serve` or the CLI's local mode does, at `now`. */
  const start = async (now: number) => {
    const replica = await openContext(t.database.url, { clock: () => now, policies: t.policiesPath });
    replicas.push(replica);
    return replica;
  };

  /** The fleet, swept once on day 50: fraud-gbm learned 23d, churn-xgb has its 60d fallback. */
  async function sweptFleet() {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const ids = await seedLearnedTtlFleet(t, T0);
    await postOk(t, "/v1/sweeps", {});
    expect(await changes(ids.second)).toHaveLength(1);
    return ids;
  }

  it("bounds edited while no server ran are told at the next start, once, with the bounds that changed", async () => {
    const ids = await sweptFleet();
    writeFileSync(t.policiesPath as string, NARROWER);

    const started = await start(T0 + 51 * DAY);
    const explain = await started.lifecycle.explain(ids.second);
    expect(explain).toMatchObject({ max_age_seconds: 20 * 86_400 });
    expect(explain.learned_ttl?.changes.at(-1)).toEqual({
      at: iso(T0 + 51 * DAY),
      from_seconds: 23 * 86_400,
      to_seconds: 20 * 86_400,
      source: "learned",
      reason: "bounds changed with no reload to record it: max 180d → 20d",
      evidence: expect.objectContaining({ metric: "auc", based_on_deployments: 2 }),
    });
    expect(
      (await changes(ids.churn)).map((e: { actor: string; data: unknown }) => [e.actor, e.data]),
    ).toEqual([
      [
        "tenure:start",
        expect.objectContaining({
          from_seconds: 60 * 86_400,
          to_seconds: 45 * 86_400,
          source: "fallback",
          reason: "bounds changed with no reload to record it: fallback 60d → 45d",
        }),
      ],
    ]);
    // The ended 3.1.0 is judged by no TTL.
    expect(await changes(ids.first)).toEqual([]);

    // Another replica starting on the same file, and its sweep, have nothing to add.
    const second = await start(T0 + 51 * DAY + 60_000);
    await second.lifecycle.sweep({ trigger: "manual", actor: "test" });
    expect(await changes(ids.second)).toHaveLength(2);
    expect(await changes(ids.churn)).toHaveLength(1);
    // Nor does the server still on the old file (a rolling restart): it does not tell its older bounds.
    t.setNow(T0 + 51 * DAY + 120_000);
    await postOk(t, "/v1/sweeps", {});
    expect(await changes(ids.second)).toHaveLength(2);
    expect(await changes(ids.churn)).toHaveLength(1);
  });

  it("a TTL stored before migration 0021 is taken as told at the first start: no event, then announced", async () => {
    const ids = await sweptFleet();
    // As an older Tenure left it: no announcement on any stored TTL.
    await t.context.database.db
      .updateTable("learned_ttls")
      .set({ announced_ttl_seconds: null, announced_bounds: null, announced_at: null })
      .execute();
    writeFileSync(t.policiesPath as string, NARROWER);
    const started = await start(T0 + 51 * DAY);
    expect(await changes(ids.second)).toHaveLength(1);
    expect(await changes(ids.churn)).toEqual([]);
    expect(
      await started.stores.learnedTtls.findLearnedTtl({
        model: "fraud-gbm",
        environment: "production",
        policy: "learned",
      }),
    ).toMatchObject({ announced_ttl_seconds: 20 * 86_400, announced_at: T0 + 51 * DAY });
  });

  it("a reload whose events failed answers 500, and the next sweep tells of the change it made", async () => {
    const ids = await sweptFleet();
    writeFileSync(t.policiesPath as string, NARROWER);
    t.setNow(T0 + 50 * DAY + 60_000);
    await refuseInserts(t, "deployment_events");
    const failed = await t.request({ method: "POST", url: "/v1/policies/reload", body: {} });
    expect(failed.statusCode, failed.body).toBe(500);
    await allowInserts(t, "deployment_events");
    // The new bounds are in force; reloading the same text again reads no fleet.
    const again = await t.request({ method: "POST", url: "/v1/policies/reload", body: {} });
    expect(again.statusCode, again.body).toBe(200);
    expect((await get(`/v1/deployments/${ids.second}`)).age.ttl_seconds).toBe(20 * 86_400);
    expect(await changes(ids.second)).toHaveLength(1);

    t.setNow(T0 + 50 * DAY + 120_000);
    await postOk(t, "/v1/sweeps", {});
    expect((await changes(ids.second)).at(-1)).toMatchObject({
      actor: "tenure:sweep",
      at: iso(T0 + 50 * DAY + 120_000),
      data: {
        from_seconds: 23 * 86_400,
        to_seconds: 20 * 86_400,
        reason: "bounds changed with no reload to record it: max 180d → 20d",
      },
    });
    expect(
      (await changes(ids.churn)).map((e: { data: { to_seconds: number } }) => e.data.to_seconds),
    ).toEqual([45 * 86_400]);
    // Told once: the next sweep and a start add nothing.
    t.setNow(T0 + 50 * DAY + 180_000);
    await postOk(t, "/v1/sweeps", {});
    await start(T0 + 50 * DAY + 240_000);
    expect(await changes(ids.second)).toHaveLength(2);
    expect(await changes(ids.churn)).toHaveLength(1);
  });

  it("two replicas reloading the same change at the same instant tell of it once", async () => {
    const ids = await sweptFleet();
    const other = await start(T0 + 50 * DAY);
    writeFileSync(t.policiesPath as string, NARROWER);
    const counts = await Promise.all(
      [t.context, other].map((c) => c.lifecycle.reloadPolicies("signal:SIGHUP").ttlChanges),
    );
    // fraud-gbm 3.2.0 and churn-xgb, each told by one of them.
    expect(counts.reduce((a, b) => a + b, 0)).toBe(2);
    expect(await changes(ids.second)).toHaveLength(2);
    expect(await changes(ids.churn)).toHaveLength(1);
    // And the next start or sweep finds the change told.
    await start(T0 + 50 * DAY + 60_000);
    t.setNow(T0 + 50 * DAY + 120_000);
    await postOk(t, "/v1/sweeps", {});
    expect(await changes(ids.second)).toHaveLength(2);
  });
});
