import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { counts, FixedTraffic } from "../support/fixed-traffic.js";
import { refuseInserts } from "../support/refuse-inserts.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const T0 = Date.parse("2027-01-01T00:00:00Z");
const DAY = 86_400_000;
const MINUTE = 60_000;

const POLICIES = `
policies:
  - name: fraud-fast
    match: { model: "fraud-*" }
    max_age: 30d
    expire_action: retire
`;

describe.each(dialects())("what Tenure changes on its own is audited as `system` (%s)", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const deploy = async (body: Record<string, unknown>): Promise<number> => {
    const response = await t.request({ method: "POST", url: "/v1/deployments", body: registration(body) });
    expect(response.statusCode, response.body).toBe(201);
    return (response.json() as { id: number }).id;
  };
  const auditRows = async () => (await t.context.audit.list({ limit: 500 })).items;

  it("a sweep's retirement on policy (expire_action: retire) has its own row by tenure:sweep, beside the sweep's", async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    await deploy({ model_version: "1.0.0", deployment_date: new Date(T0 - 40 * DAY).toISOString() });
    const shadow = await deploy({
      model_version: "2.0.0",
      role: "shadow",
      deployment_date: new Date(T0 - 40 * DAY).toISOString(),
    });

    const sweep = await t.request({ method: "POST", url: "/v1/sweeps", body: {}, token: t.tokens.admin });
    expect(sweep.statusCode, sweep.body).toBe(201);
    expect(await t.context.stores.deployments.findDeployment(shadow)).toMatchObject({ status: "retired" });

    const rows = await auditRows();
    const retired = rows.filter((r) => r.action === "deployment.retire");
    expect(retired).toEqual([
      expect.objectContaining({
        actor: "tenure:sweep",
        origin: "system",
        target: `deployment:${shadow}`,
        client_ip: null,
        method: null,
        before: expect.objectContaining({ id: shadow, status: "active" }),
        after: expect.objectContaining({ id: shadow, status: "retired" }),
      }),
    ]);
    expect(rows.find((r) => r.action === "sweep.run")).toMatchObject({
      actor: "token:admin",
      origin: "http",
      status: 201,
      after: expect.objectContaining({ retirements: 1, state: "done" }),
    });
  });

  /** A primary and a failing canary, analysed twice: the next analysis rolls it back. */
  async function failingCanary() {
    t = await startTestApp(dialect, { now: T0 });
    const traffic = new FixedTraffic();
    const analyzer = t.context.canaryAnalyzer(traffic);
    const primary = await deploy({ model_version: "1.0.0" });
    const canary = await deploy({
      model_version: "2.0.0",
      role: "canary",
      canary: { weight: 10, steps: [10, 50, 100] },
    });
    traffic.figures.set(primary, counts(2000, 10));
    traffic.figures.set(canary, counts(300, 60));

    const tick = async (n: number) => {
      t.setNow(T0 + n * MINUTE + 10_000);
      return (await analyzer.tick()).map((o) => o.action);
    };
    expect([...(await tick(1)), ...(await tick(2))]).toEqual(["hold", "hold"]);
    return { canary, tick };
  }

  it("a canary that fails its analyses is rolled back with a row by tenure:canary, in the rollback's transaction", async () => {
    const { canary, tick } = await failingCanary();
    expect(await tick(3)).toEqual(["rollback"]);

    const rows = (await auditRows()).filter((r) => r.actor === "tenure:canary");
    expect(rows).toEqual([
      expect.objectContaining({
        action: "canary.rollback",
        origin: "system",
        target: `deployment:${canary}`,
        before: expect.objectContaining({ id: canary, status: "active", traffic_weight: 10 }),
        after: expect.objectContaining({ id: canary, status: "rolled_back", traffic_weight: 0 }),
      }),
    ]);
  });

  it("a canary rollback whose audit row cannot be written does not happen: the canary still serves", async () => {
    const { canary, tick } = await failingCanary();
    const events = await t.context.stores.deployments.listEvents(canary);
    await refuseInserts(t, "audit_log");
    expect(await tick(3)).toEqual([]);
    expect(await t.context.stores.deployments.findDeployment(canary)).toMatchObject({
      status: "active",
      traffic_weight: 10,
    });
    expect(await t.context.stores.deployments.listEvents(canary)).toEqual(events);
  });

  it("a canary that passes a step has its weight change recorded by tenure:canary", async () => {
    t = await startTestApp(dialect, { now: T0 });
    const traffic = new FixedTraffic();
    const analyzer = t.context.canaryAnalyzer(traffic);
    const primary = await deploy({ model_version: "1.0.0" });
    const canary = await deploy({
      model_version: "2.0.0",
      role: "canary",
      canary: { weight: 10, steps: [10, 50, 100] },
    });
    traffic.figures.set(primary, counts(2000, 10));
    traffic.figures.set(canary, counts(500, 2));
    t.setNow(T0 + MINUTE + 10_000);
    expect((await analyzer.tick()).map((o) => o.action)).toEqual(["advance"]);

    expect((await auditRows()).filter((r) => r.actor === "tenure:canary")).toEqual([
      expect.objectContaining({
        action: "canary.advance",
        origin: "system",
        target: `deployment:${canary}`,
        before: { traffic_weight: 10 },
        after: { traffic_weight: 50 },
      }),
    ]);
  });
});
