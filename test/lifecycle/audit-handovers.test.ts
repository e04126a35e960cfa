import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { counts, FixedTraffic } from "../support/fixed-traffic.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const T0 = Date.parse("2027-01-01T00:00:00Z");
const DAY = 86_400_000;
const MINUTE = 60_000;

/** Feed models expire after 10 days and hand over to a successor that held its click-through target. */
const POLICIES = `
policies:
  - name: feed-rotate
    match: { model: "feed-*" }
    max_age: 10d
    expire_action: retire
    performance: { metric: ctr, target: 0.05, window: 1d, min_samples: 100 }
`;

describe.each(dialects())(
  "Tenure's own handovers are audited as `system`, each in its own transaction (%s)",
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
    const sweep = async (at: number) => {
      t.setNow(at);
      const response = await t.request({
        method: "POST",
        url: "/v1/sweeps",
        body: {},
        token: t.tokens.admin,
      });
      expect(response.statusCode, response.body).toBe(201);
      return response.json() as Record<string, unknown>;
    };
    const auditRows = async () => (await t.context.audit.list({ limit: 500 })).items;
    const eventsOf = async (id: number) =>
      (await t.context.stores.deployments.listEvents(id)).map((e) => [e.type, e.actor]);

    it("a scheduled promotion the sweep carries out has a deployment.promote row by tenure:sweep, beside the sweep's own", async () => {
      t = await startTestApp(dialect, { now: T0 });
      const live = await deploy({ model_version: "1.0.0" });
      const at = T0 + 5 * DAY;
      const scheduled = await deploy({ model_version: "2.0.0", scheduled_at: new Date(at).toISOString() });
      expect(await sweep(T0 + DAY)).toMatchObject({ promotions: 0 });
      expect((await auditRows()).filter((r) => r.action === "deployment.promote")).toEqual([]);

      expect(await sweep(at)).toMatchObject({ promotions: 1 });
      const rows = await auditRows();
      expect(rows.filter((r) => r.action === "deployment.promote")).toEqual([
        expect.objectContaining({
          actor: "tenure:sweep",
          origin: "system",
          target: `deployment:${scheduled}`,
          at: new Date(at).toISOString(),
          client_ip: null,
          method: null,
          status: null,
          before: expect.objectContaining({ id: scheduled, status: "scheduled", model_version: "2.0.0" }),
          after: expect.objectContaining({
            id: scheduled,
            status: "active",
            deployment_date: new Date(at).toISOString(),
            superseded: live,
          }),
        }),
      ]);
      // Newest first: the promotion's row committed before the sweep closed its log row.
      expect(rows.slice(0, 2).map((r) => [r.action, r.actor, r.origin])).toEqual([
        ["sweep.run", "token:admin", "http"],
        ["deployment.promote", "tenure:sweep", "system"],
      ]);
      expect(rows[0]?.after).toMatchObject({ promotions: 1, state: "done" });
      expect(await eventsOf(scheduled)).toEqual([
        ["scheduled", "token:admin"],
        ["deployed", "tenure:sweep"],
      ]);
      expect(await eventsOf(live)).toEqual([
        ["deployed", "token:admin"],
        ["superseded", "tenure:sweep"],
      ]);
    });

    it("a validated shadow that takes over from an expired primary has a deployment.take_over row by tenure:sweep", async () => {
      t = await startTestApp(dialect, { now: T0, policies: POLICIES });
      const primary = await deploy({ model: "feed-home", model_version: "1.0" });
      t.setNow(T0 + DAY);
      const shadow = await deploy({ model: "feed-home", model_version: "2.0", role: "shadow" });
      t.setNow(T0 + 6 * DAY);
      const points = [1, 2, 3, 4, 5].map((day) => ({
        name: "ctr",
        value: 0.08,
        timestamp: new Date(T0 + day * DAY + 3_600_000).toISOString(),
        sample_size: 400,
      }));
      const posted = await t.request({
        method: "POST",
        url: `/v1/deployments/${shadow}/metrics`,
        body: { points },
      });
      expect(posted.statusCode, posted.body).toBe(200);
      await sweep(T0 + 7 * DAY); // judges the shadow: on target, so validated
      expect((await auditRows()).filter((r) => r.actor === "tenure:sweep")).toEqual([]);

      const at = T0 + 12 * DAY; // the primary is past its 10 days
      expect(await sweep(at)).toMatchObject({ retirements: 1 });
      const rows = await auditRows();
      expect(rows.filter((r) => r.actor === "tenure:sweep")).toEqual([
        expect.objectContaining({
          action: "deployment.take_over",
          origin: "system",
          target: "model:feed-home/production",
          at: new Date(at).toISOString(),
          client_ip: null,
          before: {
            golden_version: null,
            live: [
              { id: primary, model_version: "1.0", role: "primary", status: "active" },
              { id: shadow, model_version: "2.0", role: "shadow", status: "active" },
            ],
          },
          after: {
            golden_version: null,
            live: [{ id: shadow, model_version: "2.0", role: "primary", status: "active" }],
          },
        }),
      ]);
      expect(rows[0]).toMatchObject({
        action: "sweep.run",
        after: expect.objectContaining({ retirements: 1 }),
      });
      expect(await eventsOf(shadow)).toEqual([
        ["deployed", "token:admin"],
        ["promoted", "tenure:sweep"],
      ]);
    });

    it("a canary that passes its last step takes over with a deployment.take_over row by tenure:canary", async () => {
      t = await startTestApp(dialect, { now: T0 });
      const traffic = new FixedTraffic();
      const analyzer = t.context.canaryAnalyzer(traffic);
      const primary = await deploy({ model_version: "1.0.0" });
      const canary = await deploy({
        model_version: "2.0.0",
        role: "canary",
        canary: { weight: 10, steps: [10, 100] },
      });
      traffic.figures.set(primary, counts(2000, 10));
      traffic.figures.set(canary, counts(500, 2));
      const tick = async (n: number) => {
        t.setNow(T0 + n * MINUTE + 10_000);
        return (await analyzer.tick()).map((o) => o.action);
      };
      expect([...(await tick(1)), ...(await tick(2))]).toEqual(["advance", "promote"]);

      const rows = (await auditRows()).filter((r) => r.actor === "tenure:canary");
      expect(rows.map((r) => r.action)).toEqual(["deployment.take_over", "canary.advance"]);
      expect(rows[0]).toMatchObject({
        origin: "system",
        target: "model:fraud-gbm/production",
        at: new Date(T0 + 2 * MINUTE + 10_000).toISOString(),
        client_ip: null,
        before: {
          golden_version: null,
          live: [
            { id: primary, model_version: "1.0.0", role: "primary", status: "active" },
            { id: canary, model_version: "2.0.0", role: "canary", status: "active" },
          ],
        },
        after: {
          golden_version: null,
          live: [{ id: canary, model_version: "2.0.0", role: "primary", status: "active" }],
        },
      });
      expect(await t.context.stores.deployments.findDeployment(primary)).toMatchObject({
        status: "superseded",
      });
    });
  },
);
