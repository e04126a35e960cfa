import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import {
  LEARNED_TTL_POLICIES as POLICIES,
  seedLearnedTtlFleet,
  seedVersions,
} from "../support/decay-fleet.js";
import { getOk, postOk, registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const iso = (ms: number) => new Date(ms).toISOString();

/** What a sweep reports having judged and done, without what only a logged sweep has. */
const counts = (sweep: Record<string, unknown>) => ({
  deployments: sweep.deployments,
  stages: sweep.stages,
  findings: sweep.findings,
  promotions: sweep.promotions,
  retirements: sweep.retirements,
  alerts_opened: sweep.alerts_opened,
  alerts_resolved: sweep.alerts_resolved,
  notifications: sweep.notifications,
});

describe.each(dialects())("learned TTLs on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const get = (url: string) => getOk(t, url);
  const post = (url: string, body: unknown) => postOk(t, url, body);

  /**
   * fraud-gbm: 3.1.0 served 30 days, 3.2.0 the 20 since, both decaying alike (50 judged windows
   * across 2 deployments). churn-xgb: one deployment with 9 judged windows. Every model is `auto`
   * (fraud-gbm within 14d..180d, churn-xgb on its 60d fallback); the clock stands on day 50.
   */
  async function seedFleet() {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    return seedLearnedTtlFleet(t, T0);
  }

  it("suggests a TTL from a model's decay across versions, and says why a model without a curve has none", async () => {
    await seedFleet();
    const body = await get("/v1/policy/suggestions");
    expect(body.items.map((s: { model: string }) => s.model)).toEqual(["churn-xgb", "fraud-gbm"]);
    const [churn, fraud] = body.items;
    expect(churn).toEqual({
      model: "churn-xgb",
      environment: "production",
      policy: "learned",
      current_max_age_seconds: 60 * 86_400,
      suggested_max_age_seconds: null,
      reason: "9 judged auc windows across 1 deployment; a curve needs at least 14",
      evidence: null,
    });
    // Crosses 0.9 after ~30d; less the 7d lead time, rounded down to days: 23d.
    expect(fraud).toMatchObject({
      model: "fraud-gbm",
      environment: "production",
      policy: "learned",
      current_max_age_seconds: 60 * 86_400,
      suggested_max_age_seconds: 23 * 86_400,
      evidence: {
        metric: "auc",
        threshold: 0.9,
        based_on_deployments: 2,
        based_on_windows: 50,
        lead_time_seconds: 7 * 86_400,
        label_delay_seconds: 0,
      },
    });
    expect(fraud.evidence.slope_per_day).toBeCloseTo(-0.002, 6);
    expect(fraud.reason).toMatch(
      /^loses 0\.014 auc a week; crosses 0\.9 after ~30d .*suggest 23d instead of 60d$/,
    );
  });

  it("filters by model and environment, and refuses an unknown model and a bad query", async () => {
    await seedFleet();
    const one = await get("/v1/policy/suggestions?model=fraud-gbm&environment=production");
    expect(one.items.map((s: { model: string }) => s.model)).toEqual(["fraud-gbm"]);
    expect((await get("/v1/policy/suggestions?environment=staging")).items).toEqual([]);
    const unknown = await t.request({ method: "GET", url: "/v1/policy/suggestions?model=nope" });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json().detail).toBe("model nope does not exist");
    for (const url of ["/v1/policy/suggestions?model=Not%20A%20Slug", "/v1/policy/suggestions?limit=3"]) {
      const bad = await t.request({ method: "GET", url });
      expect(bad.statusCode, url).toBe(400);
      expect(bad.headers["content-type"]).toContain("application/problem+json");
    }
  });

  it("a sweep adopts the learned TTL: age, stage, dates and calendar follow, with one event on the change", async () => {
    const ids = await seedFleet();
    const before = await get(`/v1/deployments/${ids.second}`);
    expect(before.age).toMatchObject({ ttl_seconds: 60 * 86_400, stage: "fresh" });

    await post("/v1/sweeps", {});
    // 3.2.0 is 20 days old: under a 23d TTL it is past the review point (80%).
    const after = await get(`/v1/deployments/${ids.second}`);
    expect(after.age).toMatchObject({ ttl_seconds: 23 * 86_400, stage: "due", policy: "learned" });
    const churn = await get(`/v1/deployments/${ids.churn}`);
    expect(churn.age).toMatchObject({ ttl_seconds: 60 * 86_400, stage: "fresh" });
    const calendar = await get("/v1/lifecycle");
    const entry = calendar.items.find((e: { deployment_id: number }) => e.deployment_id === ids.second);
    expect(entry.expires_at).toBe(iso(T0 + 30 * DAY + 23 * DAY));
    const suggestion = (await get("/v1/policy/suggestions?model=fraud-gbm")).items[0];
    expect(suggestion.current_max_age_seconds).toBe(23 * 86_400);

    const changes = async (id: number) =>
      (await get(`/v1/deployments/${id}/events`)).items.filter(
        (e: { type: string }) => e.type === "learned_ttl_changed",
      );
    const [event, ...more] = await changes(ids.second);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      actor: "tenure:sweep",
      data: {
        policy: "learned",
        from_seconds: 60 * 86_400,
        to_seconds: 23 * 86_400,
        source: "learned",
        suggested_max_age_seconds: 23 * 86_400,
        evidence: { metric: "auc", threshold: 0.9, based_on_deployments: 2, based_on_windows: 50 },
      },
    });
    // Unchanged (churn-xgb keeps its fallback; the ended 3.1.0 is not affected).
    expect(await changes(ids.churn)).toEqual([]);
    expect(await changes(ids.first)).toEqual([]);

    // A second sweep learns the same TTL: no new event.
    t.setNow(T0 + 50 * DAY + 3_600_000);
    await post("/v1/sweeps", {});
    expect(await changes(ids.second)).toHaveLength(1);

    const explain = await get(`/v1/deployments/${ids.second}/policy`);
    expect(explain).toMatchObject({
      policy: "learned",
      max_age_seconds: 23 * 86_400,
      expires_at: iso(T0 + 53 * DAY),
      learned_ttl: {
        source: "learned",
        ttl_seconds: 23 * 86_400,
        suggested_max_age_seconds: 23 * 86_400,
        min_seconds: 14 * 86_400,
        max_seconds: 180 * 86_400,
        fallback_seconds: 60 * 86_400,
        learned_at: iso(T0 + 50 * DAY + 3_600_000),
        evidence: { metric: "auc", based_on_deployments: 2, based_on_windows: 50 },
        changes: [{ at: iso(T0 + 50 * DAY), from_seconds: 60 * 86_400, to_seconds: 23 * 86_400 }],
      },
    });
    expect(explain.learned_ttl.reason).toMatch(/; keep 23d$/);
    const fallback = await get(`/v1/deployments/${ids.churn}/policy`);
    expect(fallback.learned_ttl).toMatchObject({
      source: "fallback",
      ttl_seconds: 60 * 86_400,
      suggested_max_age_seconds: null,
      reason: "9 judged auc windows across 1 deployment; a curve needs at least 14",
      evidence: null,
      changes: [],
    });
  });

  it("a learned TTL that changes again is one more event, from the old learned TTL to the new one", async () => {
    const ids = await seedFleet();
    await post("/v1/sweeps", {});
    // A stricter target: the curve crosses 0.92 after ~20d, less 7d of lead time is 13d, held at the 14d minimum.
    await writeAndReload(t, POLICIES.replace("target: 0.9,", "target: 0.92,"));
    t.setNow(T0 + 50 * DAY + 3_600_000);
    await post("/v1/sweeps", {});
    expect((await get(`/v1/deployments/${ids.second}`)).age).toMatchObject({
      ttl_seconds: 14 * 86_400,
      stage: "expired",
    });
    const events = (await get(`/v1/deployments/${ids.second}/events`)).items.filter(
      (e: { type: string }) => e.type === "learned_ttl_changed",
    );
    expect(
      events.map((e: { data: { from_seconds: number; to_seconds: number } }) => [
        e.data.from_seconds,
        e.data.to_seconds,
      ]),
    ).toEqual([
      [60 * 86_400, 23 * 86_400],
      [23 * 86_400, 14 * 86_400],
    ]);
    expect(events[1].data).toMatchObject({
      suggested_max_age_seconds: 13 * 86_400,
      evidence: { threshold: 0.92 },
    });
  });

  it("clamps the learned TTL to the policy's bounds", async () => {
    const ids = await seedFleet();
    await writeAndReload(t, POLICIES.replace("min: 14d", "min: 30d"));
    await post("/v1/sweeps", {});
    const after = await get(`/v1/deployments/${ids.second}`);
    expect(after.age).toMatchObject({ ttl_seconds: 30 * 86_400, stage: "fresh" });
  });

  it("a preview judges by the TTL it would learn, and learns nothing: no stored TTL, no event, the TTL in force unchanged", async () => {
    const ids = await seedFleet();
    const preview = await post("/v1/sweeps", { dry_run: true });
    // 3.2.0 (20d old) is due under the 23d it would learn, fresh under the 60d stored; churn-xgb keeps 60d.
    expect(preview).toMatchObject({ dry_run: true, stages: { fresh: 1, due: 1, expired: 0 } });
    expect((await get(`/v1/deployments/${ids.second}`)).age.ttl_seconds).toBe(60 * 86_400);
    expect((await get(`/v1/deployments/${ids.second}/policy`)).learned_ttl).toMatchObject({
      learned_at: null,
      changes: [],
    });
    expect(await t.context.stores.learnedTtls.listLearnedTtls()).toEqual([]);
  });

  it("a preview after the curve moved judges by the new TTL, and leaves the stored TTL, its events and the log as they were", async () => {
    const ids = await seedFleet();
    await post("/v1/sweeps", {});
    // A stricter target: the curve now suggests 13d, held at the 14d minimum; stored is still 23d.
    await writeAndReload(t, POLICIES.replace("target: 0.9,", "target: 0.92,"));
    const stored = await t.context.stores.learnedTtls.listLearnedTtls();
    const events = async () => (await get(`/v1/deployments/${ids.second}/events`)).items;
    const before = await events();
    const sweeps = (await get("/v1/sweeps")).items;

    t.setNow(T0 + 50 * DAY + 3_600_000);
    const preview = await post("/v1/sweeps", { dry_run: true });
    // 3.2.0 is 20 days old: expired under 14d (it is only due under the stored 23d).
    expect(preview).toMatchObject({ dry_run: true, stages: { fresh: 1, due: 0, expired: 1 } });
    expect(preview.findings.expired).toBe(1);

    expect(await t.context.stores.learnedTtls.listLearnedTtls()).toEqual(stored);
    expect(await events()).toEqual(before);
    expect((await get("/v1/sweeps")).items).toEqual(sweeps);
    expect((await get(`/v1/deployments/${ids.second}`)).age).toMatchObject({
      ttl_seconds: 23 * 86_400,
      stage: "due",
    });
    // The sweep it previewed judges alike.
    const sweep = await post("/v1/sweeps", {});
    expect(sweep).toMatchObject({ dry_run: false, stages: preview.stages });
  });

  it("a preview learns the TTLs of models whose only live deployment its scheduled promotions make, and judges them as the sweep then does", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    /**
     * Two versions of a model serve one after the other, the last is retired, and a third is
     * scheduled for day 47 with a baseline (so it has a forecast from its first day): nothing of
     * the model is live until the sweep promotes it. Its id.
     */
    const retiredThenScheduled = async (model: string, t0: number, span: number, lossPerDay: number) => {
      const [, last] = await seedVersions(t, {
        model,
        metric: "auc",
        t0,
        level: (day) => Number((0.96 - lossPerDay * day).toFixed(4)),
        versions: [
          { version: "1", day: 0, days: span },
          { version: "2", day: span, days: span },
        ],
      });
      await post(`/v1/deployments/${last}/retire`, { reason: "replaced on schedule" });
      const body = {
        model,
        model_version: "3",
        scheduled_at: iso(T0 + 47 * DAY),
        baseline_metrics: { auc: 0.96 },
      };
      return (await post("/v1/deployments", registration(body))).id as number;
    };
    // fraud-gbm crosses 0.9 after ~30d: it learns 23d, whose review (~18d) comes first; under the
    // 60d fallback the crossing would come before the review (48d), a breach.
    const fraud = await retiredThenScheduled("fraud-gbm", T0, 15, 0.002);
    // churn-xgb crosses after ~10d: it learns 3d, held at the 14d minimum, whose review comes later: a breach.
    const churn = await retiredThenScheduled("churn-xgb", T0 + 30 * DAY, 8, 0.006);
    t.setNow(T0 + 47 * DAY + 3_600_000);

    const preview = await post("/v1/sweeps", { dry_run: true });
    expect(await t.context.stores.learnedTtls.listLearnedTtls()).toEqual([]);
    const sweep = await post("/v1/sweeps", {});
    expect(sweep).toMatchObject({ promotions: 2, deployments: 2, findings: { forecast_breach: 1 } });
    expect((await get(`/v1/deployments/${fraud}`)).age.ttl_seconds).toBe(23 * 86_400);
    expect((await get(`/v1/deployments/${churn}`)).age.ttl_seconds).toBe(14 * 86_400);
    expect(counts(preview)).toEqual(counts(sweep));
  });

  it("a reload whose bounds change the TTL in force records the change at once, with its reason and evidence, once", async () => {
    const ids = await seedFleet();
    await post("/v1/sweeps", {});
    const { openContext } = await import("../../src/context.js");
    // A replica that still has the file as it was: it reloads the same change after this server.
    const replica = await openContext(t.database.url, {
      clock: () => T0 + 50 * DAY,
      policies: t.policiesPath,
    });
    try {
      t.setNow(T0 + 50 * DAY + 60_000);
      await writeAndReload(t, POLICIES.replace("max: 180d, fallback: 60d", "max: 20d, fallback: 45d"));
      const explain = await get(`/v1/deployments/${ids.second}/policy`);
      expect(explain).toMatchObject({ max_age_seconds: 20 * 86_400, learned_ttl: { source: "learned" } });
      expect(explain.learned_ttl.changes).toEqual([
        expect.objectContaining({ from_seconds: 60 * 86_400, to_seconds: 23 * 86_400 }),
        {
          at: iso(T0 + 50 * DAY + 60_000),
          from_seconds: 23 * 86_400,
          to_seconds: 20 * 86_400,
          source: "learned",
          reason: "bounds changed: max 180d → 20d",
          evidence: expect.objectContaining({ metric: "auc", threshold: 0.9, based_on_deployments: 2 }),
        },
      ]);
      // churn-xgb has no curve: its fallback changed.
      expect((await get(`/v1/deployments/${ids.churn}/policy`)).learned_ttl.changes).toEqual([
        {
          at: iso(T0 + 50 * DAY + 60_000),
          from_seconds: 60 * 86_400,
          to_seconds: 45 * 86_400,
          source: "fallback",
          reason: "bounds changed: fallback 60d → 45d",
          evidence: null,
        },
      ]);
      const changes = async (id: number) =>
        (await get(`/v1/deployments/${id}/events`)).items.filter(
          (e: { type: string }) => e.type === "learned_ttl_changed",
        );
      expect((await changes(ids.second)).at(-1)).toMatchObject({
        actor: "token:admin",
        data: { policy: "learned" },
      });
      expect(await changes(ids.first)).toEqual([]);

      // The replica's reload, the same file's again, and the next sweep tell of no new change.
      expect(await replica.lifecycle.reloadPolicies("signal:SIGHUP").ttlChanges).toBe(0);
      await writeAndReload(t, POLICIES.replace("max: 180d, fallback: 60d", "max: 20d, fallback: 45d"));
      t.setNow(T0 + 50 * DAY + 3_600_000);
      await post("/v1/sweeps", {});
      expect(await changes(ids.second)).toHaveLength(2);
      expect(await changes(ids.churn)).toHaveLength(1);
    } finally {
      await replica.close();
    }
  });

  it("a reload that puts another auto policy over a deployment records the fallback it now has, naming both policies", async () => {
    const ids = await seedFleet();
    await post("/v1/sweeps", {});
    // Nothing was learned under the new name: its fallback applies until the next sweep.
    await writeAndReload(t, POLICIES.replace("name: learned", "name: learned-v2"));
    const explain = await get(`/v1/deployments/${ids.second}/policy`);
    expect(explain).toMatchObject({ policy: "learned-v2", max_age_seconds: 60 * 86_400 });
    expect(explain.learned_ttl.changes).toEqual([
      expect.objectContaining({ from_seconds: 60 * 86_400, to_seconds: 23 * 86_400 }),
      expect.objectContaining({
        from_seconds: 23 * 86_400,
        to_seconds: 60 * 86_400,
        source: "fallback",
        reason: "policy changed: learned → learned-v2",
        evidence: null,
      }),
    ]);
    // churn-xgb had its fallback under either name: no change.
    expect((await get(`/v1/deployments/${ids.churn}/policy`)).learned_ttl.changes).toEqual([]);
  });

  it("another replica on the same database judges by the TTL the sweeping one learned once it refreshes", async () => {
    const ids = await seedFleet();
    const { openContext } = await import("../../src/context.js");
    const replica = await openContext(t.database.url, {
      clock: () => T0 + 50 * DAY,
      policies: t.policiesPath,
    });
    try {
      const row = await replica.registry.get(ids.second);
      expect(row.age.ttl_seconds).toBe(60 * 86_400);
      await post("/v1/sweeps", {});
      await replica.learnedTtls.refresh();
      expect((await replica.registry.get(ids.second)).age).toMatchObject({
        ttl_seconds: 23 * 86_400,
        stage: "due",
      });
    } finally {
      await replica.close();
    }
  });
});

async function writeAndReload(t: TestApp, text: string): Promise<void> {
  const { writeFileSync } = await import("node:fs");
  writeFileSync(t.policiesPath as string, text);
  const res = await t.request({ method: "POST", url: "/v1/policies/reload", body: {} });
  expect(res.statusCode, res.body).toBe(200);
}
