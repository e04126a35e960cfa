import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import {
  degradeAndSweep,
  fraudPolicy,
  registerExpiredRecs,
  registerFraud,
} from "../support/rotting-fleet.js";
import { postOk, registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const POLICIES = `
channels:
  hook: { type: webhook, url: "http://127.0.0.1:9/never" }
policies:
${fraudPolicy(["silence_after: 2d", "notify: { drifted: [hook], degraded: [hook] }"])}`;

describe.each(dialects())("GET /v1/fleet/deployments on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const post = (url: string, body: unknown) => postOk(t, url, body);
  const rowsOf = async (query = "", token?: string) => {
    const res = await t.request({ method: "GET", url: `/v1/fleet/deployments${query}`, token });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { generated_at: string; items: Record<string, unknown>[] };
  };

  /**
   * A fraud model that degraded and drifted, an expired shadow of another team in staging, and a
   * retired deployment; swept on day 6.
   */
  const seed = async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const fraud = await registerFraud(t);
    const recs = await registerExpiredRecs(t, T0, { environment: "staging", role: "shadow" });
    const retired = await post(
      "/v1/deployments",
      registration({ model: "churn-lr", model_version: "1", owner_team: "growth" }),
    );
    await post(`/v1/deployments/${retired.id}/retire`, {});
    const swept = await degradeAndSweep(t, T0, fraud, { heartbeat: true });
    expect(swept.findings).toMatchObject({ degraded: 1, drifted: 1 });
    return { fraud, recs, retired: retired.id as number };
  };

  it("lists every live deployment, oldest first, with the age block GET /v1/deployments/{id} gives", async () => {
    const { fraud, recs } = await seed();
    const body = await rowsOf("", t.tokens.read);
    expect(body.generated_at).toBe(new Date(T0 + 6 * DAY).toISOString());
    expect(body.items.map((r) => r.id)).toEqual([recs, fraud]);
    for (const row of body.items) {
      const view = (await t.request({ method: "GET", url: `/v1/deployments/${row.id}` })).json();
      expect(row.age).toEqual(view.age);
    }
    expect(body.items[0]).toMatchObject({
      model: "recs-two-tower",
      model_version: "7",
      environment: "staging",
      owner_team: "growth",
      role: "shadow",
      age: { stage: "expired", policy: "default", deployment_age_seconds: 106 * 86_400 },
      review_at_seconds: 72 * 86_400,
      max_data_age_seconds: null,
      silence_after_seconds: null,
      performance: null,
      drift: null,
      last_heartbeat_at: null,
      last_traffic_at: null,
      open_alerts: 1,
      open_alert_kinds: ["expired"],
    });
  });

  it("carries the stored performance with its latest judged value, the drift share and the open alerts", async () => {
    const { fraud } = await seed();
    const [row] = (await rowsOf("?model=fraud-gbm")).items;
    expect(row).toMatchObject({
      id: fraud,
      deployment_date: new Date(T0).toISOString(),
      training_data_cutoff: "2026-12-20T00:00:00.000Z",
      age: { stage: "fresh", policy: "fraud", ttl_seconds: 30 * 86_400 },
      review_at_seconds: 24 * 86_400,
      max_data_age_seconds: 60 * 86_400,
      silence_after_seconds: 2 * 86_400,
      performance: {
        state: "degraded",
        metric: "auc",
        // Day 4 is the latest judged window: day 5 has no points, and the label delay is a day.
        value: 0.9,
        at: new Date(T0 + 5 * DAY).toISOString(),
        target: 0.92,
        baseline: 0.95,
      },
      last_heartbeat_at: new Date(T0 + 5 * DAY + 3_600_000).toISOString(),
      last_traffic_at: null,
      open_alert_kinds: ["degraded", "drifted"],
      open_alerts: 2,
    });
    const performance = row?.performance as { drop: number };
    expect(performance.drop).toBeCloseTo((0.95 - 0.9) / 0.95, 5);
    const [drifted] = (await t.request({ method: "GET", url: "/v1/alerts?state=open&owner_team=risk" }))
      .json()
      .items.filter((a: { kind: string }) => a.kind === "drifted");
    expect(row?.drift).toEqual({ state: "drifted", share: drifted.detail.drifted_share });
    expect(drifted.detail.drifted_share).toBeGreaterThanOrEqual(0.5);
  });

  it("narrows to a team, an environment or a model, in SQL and together", async () => {
    const { fraud, recs } = await seed();
    const ids = async (query: string) => (await rowsOf(query)).items.map((r) => r.id);
    expect(await ids("?owner_team=growth")).toEqual([recs]);
    expect(await ids("?environment=production")).toEqual([fraud]);
    expect(await ids("?model=fraud-gbm&owner_team=risk&environment=production")).toEqual([fraud]);
    expect(await ids("?model=fraud-gbm&environment=staging")).toEqual([]);
    expect(await ids("?model=nobody")).toEqual([]);
  });

  it("refuses a bad filter with problem+json naming it, and answers no one without a token", async () => {
    t = await startTestApp(dialect, { now: T0 });
    const bad = await t.request({ method: "GET", url: "/v1/fleet/deployments?model=Not%20A%20Slug" });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(bad.json().errors.map((e: { field: string }) => e.field)).toEqual(["model"]);
    const unknown = await t.request({ method: "GET", url: "/v1/fleet/deployments?stage=due" });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const anonymous = await t.request({ method: "GET", url: "/v1/fleet/deployments", token: null });
    expect(anonymous.statusCode).toBe(401);
    expect((await rowsOf("", t.tokens.read)).items).toEqual([]);
  });

  it("is in the OpenAPI document with its filters", async () => {
    t = await startTestApp(dialect, { now: T0 });
    const doc = (await t.request({ method: "GET", url: "/openapi.json" })).json();
    const get = doc.paths["/v1/fleet/deployments"].get;
    expect(get.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      "environment",
      "model",
      "owner_team",
    ]);
    expect(JSON.stringify(get.responses["200"])).toMatch(/review_at_seconds/);
  });
});
