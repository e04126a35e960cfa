import { afterEach, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/core/reservoir.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const POLICIES = `
channels:
  hook: { type: webhook, url: "http://127.0.0.1:9/never" }
policies:
  - name: fraud
    match: { model: "fraud-*" }
    max_age: 30d
    review_at: 0.8
    max_data_age: 60d
    silence_after: 2d
    performance: { metric: auc, target: 0.92, window: 1d, min_samples: 500, label_delay: 1d }
    drift: { window: 1d, drift_share: 0.5 }
    notify: { drifted: [hook], degraded: [hook] }
`;

/** Rows of three features; `shift` moves the amounts and the country mix. */
function rows(n: number, shift: boolean, seed: number) {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => ({
    amount: (shift ? 11.5 : 10) + (random() + random() + random() - 1.5),
    country: shift ? (i % 10 === 0 ? "fr" : "de") : i % 3 === 0 ? "de" : "fr",
    flagged: i % 7 === 0,
  }));
}

describe.each(dialects())("GET /v1/fleet/deployments on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const post = async (url: string, body: unknown) => {
    const res = await t.request({ method: "POST", url, body });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };
  const rowsOf = async (query = "", token?: string) => {
    const res = await t.request({ method: "GET", url: `/v1/fleet/deployments${query}`, token });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { generated_at: string; items: Record<string, unknown>[] };
  };
  const auc = (day: number, value: number) =>
    [0, 12].map((hour) => ({
      name: "auc",
      value,
      timestamp: new Date(T0 + day * DAY + hour * 3_600_000).toISOString(),
      sample_size: 500,
    }));

  /**
   * A fraud model that degraded and drifted, an expired shadow of another team in staging, and a
   * retired deployment; swept on day 6.
   */
  const seed = async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const fraud = await post(
      "/v1/deployments",
      registration({ training_data_cutoff: "2026-12-20", baseline_metrics: { auc: 0.95 } }),
    );
    const recs = await post(
      "/v1/deployments",
      registration({
        model: "recs-two-tower",
        model_version: "7",
        owner_team: "growth",
        environment: "staging",
        role: "shadow",
        deployment_date: new Date(T0 - 100 * DAY).toISOString(),
        training_data_cutoff: "2026-09-01",
      }),
    );
    const retired = await post(
      "/v1/deployments",
      registration({ model: "churn-lr", model_version: "1", owner_team: "growth" }),
    );
    await post(`/v1/deployments/${retired.id}/retire`, {});
    await post(`/v1/deployments/${fraud.id}/reference`, { rows: rows(3000, false, 1) });

    t.setNow(T0 + 5 * DAY + 3_600_000);
    await post(`/v1/deployments/${fraud.id}/metrics`, {
      points: [...auc(0, 0.95), ...auc(1, 0.95), ...auc(2, 0.95), ...auc(3, 0.95), ...auc(4, 0.9)],
    });
    await post(`/v1/deployments/${fraud.id}/samples`, { rows: rows(3000, true, 2) });
    await post(`/v1/deployments/${fraud.id}/heartbeat`, {});
    t.setNow(T0 + 6 * DAY);
    const swept = await post("/v1/sweeps", {});
    expect(swept.findings).toMatchObject({ degraded: 1, drifted: 1 });
    return { fraud: fraud.id as number, recs: recs.id as number, retired: retired.id as number };
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
