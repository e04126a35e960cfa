import { afterEach, describe, expect, it } from "vitest";
import type { CanaryAnalyzer } from "../../src/gateway/canary-analyzer.js";
import { LATENCY_BOUNDS_MS } from "../../src/gateway/traffic-report.js";
import type { TrafficWindows, WindowCounts } from "../../src/gateway/traffic-windows.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const T0 = Date.parse("2027-01-01T00:00:00Z");

const POLICIES = `
channels:
  oncall: { type: slack, url: "http://127.0.0.1:9/slack" }
policies:
  - name: guarded
    match: { model: fraud-gbm }
    guardrail: { error_rate: 0.05, bake: 1h, min_requests: 100 }
    notify:
      guardrail: [oncall]
`;

const counts = (requests: number, errors: number): WindowCounts => ({
  requests,
  errors,
  timeouts: 0,
  latency_buckets: [requests, ...new Array<number>(LATENCY_BOUNDS_MS.length).fill(0)],
});

class FakeTraffic implements TrafficWindows {
  readonly figures = new Map<number, WindowCounts>();
  async window(ids: number[]): Promise<Map<number, WindowCounts>> {
    return new Map(
      ids.flatMap((id) => (this.figures.has(id) ? [[id, this.figures.get(id) as WindowCounts]] : [])),
    );
  }
}

describe.each(dialects())("a new primary's guardrail on %s", (dialect) => {
  let t: TestApp;
  let traffic: FakeTraffic;
  let analyzer: CanaryAnalyzer;

  afterEach(async () => {
    await t?.close();
  });

  /** Version 1.0.0 golden and superseded by 2.0.0, the new primary; returns their ids. */
  async function start(options: { golden?: boolean; model?: string } = {}) {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    traffic = new FakeTraffic();
    analyzer = t.context.canaryAnalyzer(traffic);
    const model = options.model ?? "fraud-gbm";
    const deploy = async (version: string) => {
      const r = await t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration({ model, model_version: version }),
      });
      expect(r.statusCode, r.body).toBe(201);
      return r.json().id as number;
    };
    const old = await deploy("1.0.0");
    if (options.golden ?? true) {
      const g = await t.request({
        method: "PUT",
        url: `/v1/models/${model}/golden`,
        body: { model_version: "1.0.0" },
      });
      expect(g.statusCode, g.body).toBe(200);
    }
    const fresh = await deploy("2.0.0");
    return { old, fresh };
  }

  it("rolls a new primary whose error rate crosses the limit while baking back to the golden version, says why and alerts", async () => {
    const { fresh } = await start();
    traffic.figures.set(fresh, counts(400, 40));
    t.setNow(T0 + 10 * 60_000);
    await analyzer.tick();

    expect(await t.context.stores.deployments.findDeployment(fresh)).toMatchObject({ status: "rolled_back" });
    const live = await t.context.stores.deployments.findLivePrimary("fraud-gbm", "production");
    expect(live).toMatchObject({ model_version: "1.0.0", deployment_date: T0 + 10 * 60_000 });
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${fresh}/events` })).json().items;
    const rolledBack = events.find((e: { type: string }) => e.type === "rolled_back");
    expect(rolledBack).toMatchObject({
      actor: "tenure:guardrail",
      data: {
        to_version: "1.0.0",
        reason: expect.stringMatching(
          /^guardrail: error rate 10\.00% over 400 requests is above the limit 5\.00%/,
        ),
        guardrail: { cause: "error_rate", error_rate: 0.05, bake_seconds: 3600, requests: 400, errors: 40 },
      },
    });
    // Audited as Tenure's own change, in the rollback's transaction.
    const audit = (await t.context.audit.list({ limit: 100, actor: "tenure:guardrail" })).items;
    expect(audit).toEqual([
      expect.objectContaining({
        action: "model.rollback",
        origin: "system",
        target: "model:fraud-gbm/production",
        before: expect.objectContaining({ live: [expect.objectContaining({ id: fresh, status: "active" })] }),
        after: expect.objectContaining({ live: [expect.objectContaining({ model_version: "1.0.0" })] }),
      }),
    ]);
    const alerts = (await t.request({ method: "GET", url: `/v1/alerts?deployment_id=${fresh}` })).json()
      .items;
    expect(alerts).toEqual([expect.objectContaining({ kind: "guardrail", state: "open" })]);
    const deliveries = (await t.request({ method: "GET", url: "/v1/deliveries" })).json().items;
    expect(deliveries).toEqual([expect.objectContaining({ channel: "oncall", action: "trigger" })]);
    // The sweep leaves it open though the deployment ended: it says why it ended.
    expect((await t.request({ method: "POST", url: "/v1/sweeps", body: {} })).statusCode).toBe(201);
    const after = (await t.request({ method: "GET", url: `/v1/alerts?deployment_id=${fresh}` })).json().items;
    expect(after[0].state).toBe("open");
  });

  it("does nothing with fewer than min_requests, within the limit, or after the bake period", async () => {
    const { fresh } = await start();
    traffic.figures.set(fresh, counts(50, 25));
    t.setNow(T0 + 60_000);
    await analyzer.tick();
    traffic.figures.set(fresh, counts(1000, 40));
    t.setNow(T0 + 2 * 60_000);
    await analyzer.tick();
    traffic.figures.set(fresh, counts(1000, 500));
    t.setNow(T0 + 61 * 60_000);
    await analyzer.tick();
    expect(await t.context.stores.deployments.findDeployment(fresh)).toMatchObject({ status: "active" });
    expect((await t.request({ method: "GET", url: "/v1/alerts" })).json().items).toEqual([]);
  });

  it("rolls back a new primary the sweep found degraded while baking", async () => {
    const { fresh } = await start();
    await t.context.database.db
      .updateTable("deployments")
      .set({ performance_state: "degraded" })
      .where("id", "=", fresh)
      .execute();
    t.setNow(T0 + 60_000);
    await analyzer.tick();
    expect(await t.context.stores.deployments.findDeployment(fresh)).toMatchObject({ status: "rolled_back" });
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${fresh}/events` })).json().items;
    expect(events.at(-1)).toMatchObject({ type: "rolled_back", data: { guardrail: { cause: "degraded" } } });
  });

  it("alerts once, and keeps the primary, when there is no golden version to roll back to", async () => {
    const { fresh } = await start({ golden: false });
    traffic.figures.set(fresh, counts(400, 40));
    for (const minutes of [1, 2, 3]) {
      t.setNow(T0 + minutes * 60_000);
      await analyzer.tick();
    }
    expect(await t.context.stores.deployments.findDeployment(fresh)).toMatchObject({ status: "active" });
    const alerts = (await t.request({ method: "GET", url: "/v1/alerts" })).json().items;
    expect(alerts).toEqual([expect.objectContaining({ kind: "guardrail", deployment_id: fresh })]);
    expect(alerts[0].summary).toMatch(/no golden version of fraud-gbm in production to roll back to/);
  });

  it("leaves models whose policy sets no guardrail alone", async () => {
    const { fresh } = await start({ model: "churn-xgb" });
    traffic.figures.set(fresh, counts(400, 400));
    t.setNow(T0 + 60_000);
    await analyzer.tick();
    expect(await t.context.stores.deployments.findDeployment(fresh)).toMatchObject({ status: "active" });
  });
});
