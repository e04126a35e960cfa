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
${fraudPolicy()}`;

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

  const post = (url: string, body: unknown) => postOk(t, url, body);

  /**
   * Team risk: fraud-gbm degraded and drifted (fresh), fraud-rules expired 3 days ago with the
   * stalest data, fraud-xgb due in 4 days with an open forecast_breach finding. Team growth: a
   * recommender expired long before the period. Swept on day 6.
   */
  const seed = async () => {
    t = await startTestApp(dialect, { now: T0, policies: POLICIES });
    const gbm = await registerFraud(t);
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
    const recs = await registerExpiredRecs(t, T0);
    const swept = await degradeAndSweep(t, T0, gbm);
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
      { id: gbm, forecast: crossing("auc", 5) },
      { id: rules.id, forecast: crossing("auc", 60) },
    ]);
    return {
      gbm,
      rules: rules.id as number,
      xgb: xgb.id as number,
      recs,
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
