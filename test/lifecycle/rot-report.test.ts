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
    performance: { metric: auc, target: 0.92, window: 1d, min_samples: 500, label_delay: 1d }
    drift: { window: 1d, drift_share: 0.5 }
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

interface Team {
  owner_team: string;
  live: number;
  [section: string]: unknown;
}

describe.each(dialects())("the rot report (GET /v1/report) on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const post = async (url: string, body: unknown) => {
    const res = await t.request({ method: "POST", url, body });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json();
  };
  const auc = (day: number, value: number) =>
    [0, 12].map((hour) => ({
      name: "auc",
      value,
      timestamp: new Date(T0 + day * DAY + hour * 3_600_000).toISOString(),
      sample_size: 500,
    }));

  /**
   * Team risk: fraud-gbm degraded and drifted (fresh), fraud-rules expired 3 days ago with the
   * stalest data, fraud-xgb due in 4 days with an open forecast_breach finding. Team growth: a
   * recommender expired long before the period. Swept on day 6.
   */
  const seed = async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const gbm = await post(
      "/v1/deployments",
      registration({ training_data_cutoff: "2026-12-20", baseline_metrics: { auc: 0.95 } }),
    );
    const rules = await post(
      "/v1/deployments",
      registration({
        model: "fraud-rules",
        model_version: "12",
        deployment_date: new Date(T0 - 27 * DAY).toISOString(),
        training_data_cutoff: "2026-06-01",
      }),
    );
    const xgb = await post(
      "/v1/deployments",
      registration({
        model: "fraud-xgb",
        model_version: "2.0",
        deployment_date: new Date(T0 - 20 * DAY).toISOString(),
        training_data_cutoff: "2026-11-01",
      }),
    );
    const recs = await post(
      "/v1/deployments",
      registration({
        model: "recs-two-tower",
        model_version: "7",
        owner_team: "growth",
        deployment_date: new Date(T0 - 100 * DAY).toISOString(),
        training_data_cutoff: "2026-09-01",
      }),
    );
    await post(`/v1/deployments/${gbm.id}/reference`, { rows: rows(3000, false, 1) });
    t.setNow(T0 + 5 * DAY + 3_600_000);
    await post(`/v1/deployments/${gbm.id}/metrics`, {
      points: [...auc(0, 0.95), ...auc(1, 0.95), ...auc(2, 0.95), ...auc(3, 0.95), ...auc(4, 0.9)],
    });
    await post(`/v1/deployments/${gbm.id}/samples`, { rows: rows(3000, true, 2) });
    t.setNow(T0 + 6 * DAY);
    const swept = await post("/v1/sweeps", {});
    expect(swept.findings).toMatchObject({ degraded: 1, drifted: 1, expired: 2, due: 1 });
    // The forecasting sweep (issue 20, point 2) raises forecast_breach; its finding is written here
    // as such a sweep writes it, in the alert table the report reads.
    await t.context.stores.alerts.insertAlerts([
      {
        deployment_id: xgb.id,
        kind: "forecast_breach",
        severity: "warning",
        policy: "fraud",
        model: "fraud-xgb",
        model_version: "2.0",
        environment: "production",
        owner_team: "risk",
        summary: "fraud-xgb 2.0 in production is forecast to cross its auc target in ~9d",
        detail: {
          metric: "auc",
          breach_at: new Date(T0 + 15 * DAY).toISOString(),
          breach_in_seconds: 9 * 86_400,
          interval_seconds: [5 * 86_400, null],
          slope_per_day: -0.004,
          reason: "loses 0.004 AUC a day",
        },
        opened_at: T0 + 6 * DAY,
      },
    ]);
    // And the forecasts a sweep keeps on deployments (issue 20), as it stores them: fraud-gbm
    // crosses its target in 5 days; fraud-rules in 60, beyond the report's 14.
    const crossing = (metric: string, inDays: number) =>
      JSON.stringify({
        metric,
        breach_at: T0 + (6 + inDays) * DAY,
        low_at: T0 + (6 + inDays - 2) * DAY,
        high_at: null,
        slope_per_day: -0.005,
        based_on_deployments: 3,
        based_on_windows: 40,
        computed_at: T0 + 6 * DAY,
      });
    await t.context.stores.forecasts.setForecasts([
      { id: gbm.id, forecast: crossing("auc", 5) },
      { id: rules.id, forecast: crossing("auc", 60) },
    ]);
    return {
      gbm: gbm.id as number,
      rules: rules.id as number,
      xgb: xgb.id as number,
      recs: recs.id as number,
    };
  };

  const report = async (query = "", token?: string) => {
    const res = await t.request({ method: "GET", url: `/v1/report${query}`, token });
    expect(res.statusCode, res.body).toBe(200);
    return res.json() as { generated_at: string; since: string; since_seconds: number; teams: Team[] };
  };

  it("tells each team what expired, is due, will breach, degraded, drifted, and its oldest and stalest, with numbers", async () => {
    const { gbm, rules, xgb, recs } = await seed();
    const body = await report("", t.tokens.read);
    expect(body).toMatchObject({
      generated_at: new Date(T0 + 6 * DAY).toISOString(),
      since: new Date(T0 - DAY).toISOString(),
      since_seconds: 7 * 86_400,
      horizon_seconds: 14 * 86_400,
    });
    expect(body.teams.map((team) => [team.owner_team, team.live])).toEqual([
      ["growth", 1],
      ["risk", 3],
    ]);
    const [growth, risk] = body.teams;
    expect(risk?.expired).toEqual([
      expect.objectContaining({
        deployment_id: rules,
        model: "fraud-rules",
        current: true,
        in_period: true,
        expired_at: new Date(T0 + 3 * DAY).toISOString(),
        deployment_age_seconds: 33 * 86_400,
        ttl_seconds: 30 * 86_400,
        overdue_seconds: 3 * 86_400,
      }),
    ]);
    expect(growth?.expired).toEqual([
      expect.objectContaining({ deployment_id: recs, in_period: false, overdue_seconds: 16 * 86_400 }),
    ]);
    expect(risk?.due).toEqual([
      expect.objectContaining({
        deployment_id: xgb,
        stage: "due",
        expires_in_seconds: 4 * 86_400,
        expires_at: new Date(T0 + 10 * DAY).toISOString(),
      }),
    ]);
    expect(risk?.forecast_breaches).toEqual([
      expect.objectContaining({
        deployment_id: gbm,
        metric: "auc",
        breach_at: new Date(T0 + 11 * DAY).toISOString(),
        breach_in_seconds: 5 * 86_400,
        interval_seconds: [3 * 86_400, null],
        slope_per_day: -0.005,
        source: "forecast",
      }),
      expect.objectContaining({
        deployment_id: xgb,
        metric: "auc",
        breach_in_seconds: 9 * 86_400,
        interval_seconds: [5 * 86_400, null],
        slope_per_day: -0.004,
        source: "finding",
      }),
    ]);
    expect(risk?.degraded).toEqual([
      expect.objectContaining({
        deployment_id: gbm,
        current: true,
        in_period: true,
        metric: "auc",
        value: 0.9,
        target: 0.92,
        opened_at: new Date(T0 + 6 * DAY).toISOString(),
      }),
    ]);
    expect(risk?.drifted).toEqual([
      expect.objectContaining({ deployment_id: gbm, current: true, share: expect.any(Number) }),
    ]);
    expect(((risk?.oldest ?? []) as { deployment_id: number }[]).map((o) => o.deployment_id)).toEqual([
      rules,
      xgb,
      gbm,
    ]);
    expect(risk?.stalest_data).toEqual([
      expect.objectContaining({
        deployment_id: rules,
        data_age_seconds: 220 * 86_400,
        max_data_age_seconds: 60 * 86_400,
      }),
      expect.objectContaining({ deployment_id: xgb }),
      expect.objectContaining({ deployment_id: gbm }),
    ]);
  });

  it("narrows to one team, and a period that starts after an alert opened leaves it out", async () => {
    await seed();
    t.setNow(T0 + 20 * DAY);
    const body = await report("?owner_team=risk&since=12d");
    expect(body.teams.map((team) => team.owner_team)).toEqual(["risk"]);
    const [risk] = body.teams;
    // Still degraded now (no sweep since), but its alert opened before the period.
    expect(risk?.degraded).toEqual([
      expect.objectContaining({ current: true, in_period: false, opened_at: null }),
    ]);
    expect(risk?.expired).toEqual([
      expect.objectContaining({ model: "fraud-rules", in_period: false, overdue_seconds: 17 * 86_400 }),
      expect.objectContaining({ model: "fraud-xgb", in_period: true, overdue_seconds: 10 * 86_400 }),
    ]);
    const none = await report("?owner_team=nobody");
    expect(none.teams).toEqual([expect.objectContaining({ owner_team: "nobody", live: 0, expired: [] })]);
  });

  it("refuses a bad period or team with problem+json naming the field, never a 5xx", async () => {
    t = await startTestApp(dialect, { now: T0 });
    for (const query of [
      "?since=7",
      "?since=-1d",
      "?since=0d",
      "?since=abc",
      "?owner_team=Not%20A%20Slug",
      "?bogus=1",
    ]) {
      const res = await t.request({ method: "GET", url: `/v1/report${query}` });
      expect(res.statusCode, query).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.json().errors.length, query).toBeGreaterThan(0);
    }
    const res = await t.request({ method: "GET", url: "/v1/report?since=7" });
    expect(res.json().errors).toEqual([expect.objectContaining({ field: "since" })]);
  });
});
