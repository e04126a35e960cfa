import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { counts, FixedTraffic } from "../support/fixed-traffic.js";
import { allowInserts, refuseInserts } from "../support/refuse-inserts.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const T0 = Date.parse("2027-01-01T00:00:00Z");
const DAY = 86_400_000;
const MINUTE = 60_000;

const POLICIES = `
channels:
  oncall: { type: slack, url: "http://127.0.0.1:9/slack" }
policies:
  - name: fraud-fast
    match: { model: "fraud-*" }
    max_age: 30d
    expire_action: retire
    guardrail: { error_rate: 0.05, bake: 1h, min_requests: 100 }
    notify: { expired: [oncall], guardrail: [oncall] }
`;

describe.each(dialects())(
  "what Tenure would change on its own without its audit row does not happen (%s)",
  (dialect) => {
    let t: TestApp;
    afterEach(async () => {
      await t?.close();
    });

    const deploy = async (body: Record<string, unknown>): Promise<number> => {
      const response = await t.request({ method: "POST", url: "/v1/deployments", body: registration(body) });
      expect(response.statusCode, response.body).toBe(201);
      return (response.json() as { id: number }).id;
    };
    const setGolden = async (model_version: string) => {
      const response = await t.request({
        method: "PUT",
        url: "/v1/models/fraud-gbm/golden",
        body: { model_version },
      });
      expect(response.statusCode, response.body).toBe(200);
    };
    const get = async (url: string) => (await t.request({ method: "GET", url })).json();
    /** Everything a refused change must leave as it was: who serves, the events, alerts, deliveries, the log. */
    const state = async (ids: number[]) => ({
      live: await t.context.stores.deployments.listLiveForModels(["fraud-gbm"]),
      events: await Promise.all(ids.map((id) => t.context.stores.deployments.listEvents(id))),
      alerts: (await get("/v1/alerts")).items,
      deliveries: (await get("/v1/deliveries")).items,
      audit: (await t.context.audit.list({ limit: 500 })).items,
    });

    it("a sweep whose retirements cannot be audited retires and rolls back nothing, fails in its log, and the next sweep does the work", async () => {
      t = await startTestApp(dialect, { now: T0, policies: POLICIES });
      const old = await deploy({
        model_version: "1.0.0",
        deployment_date: new Date(T0 - 50 * DAY).toISOString(),
      });
      await setGolden("1.0.0");
      // Expired: the primary rolls back to the golden version, the shadow simply ends.
      const primary = await deploy({
        model_version: "2.0.0",
        deployment_date: new Date(T0 - 40 * DAY).toISOString(),
      });
      const shadow = await deploy({
        model_version: "3.0.0",
        role: "shadow",
        deployment_date: new Date(T0 - 40 * DAY).toISOString(),
      });
      const ids = [old, primary, shadow];
      const before = await state(ids);
      await refuseInserts(t, "audit_log");

      const refused = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
      expect(refused.statusCode, refused.body).toBe(500);
      expect(refused.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(refused.json()).toMatchObject({
        type: "https://tenure.dev/problems/internal",
        status: 500,
        detail: expect.stringMatching(
          /^sweep 1 failed part-way and is logged as failed .* the next sweep does the rest$/,
        ),
      });
      expect((await get("/v1/sweeps")).items).toEqual([
        expect.objectContaining({
          id: 1,
          state: "failed",
          error: expect.stringMatching(/refused by the test/),
        }),
      ]);
      expect(await state(ids)).toEqual(before);

      await allowInserts(t, "audit_log");
      const next = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
      expect(next.statusCode, next.body).toBe(201);
      expect(next.json()).toMatchObject({ state: "done", retirements: 2 });
      expect(await t.context.stores.deployments.findDeployment(primary)).toMatchObject({
        status: "rolled_back",
      });
      expect(await t.context.stores.deployments.findDeployment(shadow)).toMatchObject({ status: "retired" });
      // Announced with what was done, and resolved by it, in the change's own transaction.
      expect(
        (await get("/v1/alerts")).items.map((a: Record<string, unknown>) => [
          a.deployment_id,
          a.kind,
          a.state,
          a.resolution,
        ]),
      ).toEqual([
        [shadow, "expired", "resolved", "retired"],
        [primary, "expired", "resolved", "rolled_back"],
      ]);
      const rows = (await t.context.audit.list({ limit: 500, actor: "tenure:sweep" })).items;
      expect(rows.map((r) => [r.action, r.target]).sort()).toEqual([
        ["deployment.retire", `deployment:${shadow}`],
        ["model.rollback", "model:fraud-gbm/production"],
      ]);
    });

    it("a guardrail rollback that cannot be audited does not happen: the new primary still serves, and the next check rolls it back", async () => {
      t = await startTestApp(dialect, { now: T0, policies: POLICIES });
      const traffic = new FixedTraffic();
      const analyzer = t.context.canaryAnalyzer(traffic);
      const old = await deploy({ model_version: "1.0.0" });
      await setGolden("1.0.0");
      const fresh = await deploy({ model_version: "2.0.0" });
      traffic.figures.set(fresh, counts(400, 40));
      const before = await state([old, fresh]);
      await refuseInserts(t, "audit_log");

      t.setNow(T0 + 10 * MINUTE);
      await analyzer.tick();
      expect(await t.context.stores.deployments.findDeployment(fresh)).toMatchObject({
        status: "active",
        role: "primary",
      });
      expect(await state([old, fresh])).toEqual(before);

      await allowInserts(t, "audit_log");
      t.setNow(T0 + 11 * MINUTE);
      await analyzer.tick();
      expect(await t.context.stores.deployments.findDeployment(fresh)).toMatchObject({
        status: "rolled_back",
      });
      expect((await t.context.audit.list({ limit: 500, actor: "tenure:guardrail" })).items).toEqual([
        expect.objectContaining({ action: "model.rollback", target: "model:fraud-gbm/production" }),
      ]);
      expect((await get(`/v1/alerts?deployment_id=${fresh}`)).items).toEqual([
        expect.objectContaining({ kind: "guardrail", state: "open" }),
      ]);
    });
  },
);
