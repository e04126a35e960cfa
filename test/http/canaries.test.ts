import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2027-01-01T00:00:00.000Z");

describe.each(dialects())("registering and reading canaries on %s", (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(dialect, { now: NOW });
    const primary = await t.request({ method: "POST", url: "/v1/deployments", body: registration() });
    expect(primary.statusCode, primary.body).toBe(201);
  });
  afterAll(async () => {
    await t.close();
  });

  const register = (body: Record<string, unknown>) =>
    t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ model_version: "4.0.0", ...body }),
    });

  it.each([
    [{ role: "primary", canary: { weight: 10 } }, "role", /must be canary/],
    [{ role: "canary", canary: {} }, "canary.weight", /is required/],
    [{ role: "canary", canary: { weight: 0 } }, "canary.weight", /./],
    [{ role: "canary", canary: { weight: 10.5 } }, "canary.weight", /whole percent/],
    [{ role: "canary", canary: { weight: 101 } }, "canary.weight", /./],
    [{ role: "canary", canary: { steps: [50, 25] } }, "canary.steps", /ascending/],
    [{ role: "canary", canary: { weight: 20, steps: [10, 50] } }, "canary.weight", /first of the steps/],
    [
      { role: "canary", canary: { weight: 10, sticky_header: "X User" } },
      "canary.sticky_header",
      /header name/,
    ],
    [{ role: "canary", canary: { weight: 10, interval_seconds: 1 } }, "canary.interval_seconds", /./],
    [{ role: "canary", canary: { weight: 10, failure_limit: 0 } }, "canary.failure_limit", /./],
    [{ role: "canary", canary: { weight: 10, max_p99_ratio: 0.5 } }, "canary.max_p99_ratio", /./],
    [{ role: "canary", canary: { weight: 10, surprise: 1 } }, "canary.surprise", /not a known field/],
    [
      { role: "canary", scheduled_at: "2027-02-01T00:00:00Z", canary: { weight: 10 } },
      "scheduled_at",
      /canary settings/,
    ],
  ])("refuses %j with 400 naming %s", async (body, field, message) => {
    const response = await register(body);
    expect(response.statusCode, response.body).toBe(400);
    const problem = response.json();
    expect(problem.errors).toEqual(
      expect.arrayContaining([expect.objectContaining({ field, message: expect.stringMatching(message) })]),
    );
  });

  it("registers a canary with its weight and settings, shows it, and refuses a second while it runs", async () => {
    expect((await t.request({ method: "GET", url: "/v1/models/fraud-gbm/canary" })).statusCode).toBe(404);
    const created = await register({
      role: "canary",
      canary: { steps: [10, 25, 50, 100], sticky_header: "X-User", interval_seconds: 120, min_requests: 500 },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    const row = await t.context.stores.deployments.findDeployment(id);
    expect(row).toMatchObject({ role: "canary", traffic_weight: 10, sticky_header: "X-User" });

    const view = await t.request({
      method: "GET",
      url: "/v1/models/fraud-gbm/canary?environment=production",
    });
    expect(view.statusCode, view.body).toBe(200);
    expect(view.json()).toMatchObject({
      model: "fraud-gbm",
      environment: "production",
      deployment: { id, model_version: "4.0.0", role: "canary" },
      primary_id: expect.any(Number),
      state: "running",
      weight: 10,
      sticky_header: "X-User",
      steps: [10, 25, 50, 100],
      step_index: 0,
      failures: 0,
      config: {
        interval_seconds: 120,
        failure_limit: 3,
        min_requests: 500,
        inconclusive_limit: 5,
        max_error_rate_increase: 0.01,
        max_p99_ratio: 1.2,
      },
      next_analysis_at: new Date(NOW + 120_000).toISOString(),
      analyses: [],
    });

    const second = await register({ model_version: "5.0.0", role: "canary", canary: { weight: 5 } });
    expect(second.statusCode, second.body).toBe(409);
    expect(second.json().detail).toMatch(/has a canary in production already/);
    // A canary without settings (no traffic of its own) is still registered as before.
    expect((await register({ model_version: "5.0.0", role: "canary" })).statusCode).toBe(201);
  });

  it("answers 404 for an unknown model or an environment without a canary, 400 for a bad query", async () => {
    expect((await t.request({ method: "GET", url: "/v1/models/nope/canary" })).statusCode).toBe(404);
    const staging = await t.request({
      method: "GET",
      url: "/v1/models/fraud-gbm/canary?environment=staging",
    });
    expect(staging.statusCode).toBe(404);
    expect(staging.json().detail).toBe("fraud-gbm has no canary in staging");
    const bad = await t.request({ method: "GET", url: "/v1/models/fraud-gbm/canary?limit=0" });
    expect(bad.statusCode).toBe(400);
    const unknown = await t.request({ method: "GET", url: "/v1/models/fraud-gbm/canary?nope=1" });
    expect(unknown.statusCode).toBe(400);
  });

  it("needs a token to read", async () => {
    expect(
      (await t.request({ method: "GET", url: "/v1/models/fraud-gbm/canary", token: null })).statusCode,
    ).toBe(401);
    expect(
      (await t.request({ method: "GET", url: "/v1/models/fraud-gbm/canary", token: t.tokens.read }))
        .statusCode,
    ).toBe(200);
  });
});
