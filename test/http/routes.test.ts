import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

describe.each(dialects())("GET /v1/routes on %s", (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(dialect);
    for (const body of [
      registration({ model_version: "3.2.0", endpoint: "http://fraud.internal/v1" }),
      registration({ model: "churn", model_version: "1.0.0" }),
      registration({ model_version: "3.3.0", role: "shadow", endpoint: "http://shadow.internal/v1" }),
      registration({
        model_version: "3.2.0",
        environment: "staging",
        endpoint: "http://staging.internal/v1",
      }),
    ]) {
      expect((await t.request({ method: "POST", url: "/v1/deployments", body })).statusCode).toBe(201);
    }
  });
  afterEach(async () => {
    await t.close();
  });

  const routes = (query = "", token?: string | null) =>
    t.request({
      method: "GET",
      url: `/v1/routes${query}`,
      token: token === undefined ? t.tokens.read : token,
    });

  it("lists an environment's live deployments with an endpoint, and every registered model", async () => {
    const res = await routes("?environment=production");
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ environment: "production", models: ["churn", "fraud-gbm"] });
    expect(body.route_version).toMatch(/^[0-9a-f]{16}$/);
    expect(body.targets).toEqual([
      expect.objectContaining({
        model: "fraud-gbm",
        model_version: "3.2.0",
        role: "primary",
        endpoint: "http://fraud.internal/v1",
        owner_team: "risk",
        training_data_cutoff: "2026-10-01T00:00:00.000Z",
        traffic_weight: null,
        sticky_header: null,
      }),
      expect.objectContaining({ model_version: "3.3.0", role: "shadow" }),
    ]);
  });

  it("needs a token with scope read", async () => {
    expect((await routes("", null)).statusCode).toBe(401);
  });

  it("refuses a wait over 30 seconds and an environment that is not a slug", async () => {
    const wait = await routes("?wait=31");
    expect(wait.statusCode).toBe(400);
    expect(wait.json().errors).toEqual([expect.objectContaining({ field: "wait" })]);
    expect((await routes("?environment=Not%20Slug")).statusCode).toBe(400);
  });

  it("answers at once when `since` is not the current version, and waits for a change when it is", async () => {
    const first = (await routes()).json();
    expect((await routes("?since=stale&wait=30")).json().route_version).toBe(first.route_version);
    const started = Date.now();
    const polled = routes(`?since=${first.route_version}&wait=20`);
    // A registration in another environment does not end the wait; one here does.
    await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({
        model_version: "3.4.0",
        environment: "staging",
        endpoint: "http://s.internal/v1",
      }),
    });
    await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ model_version: "3.4.0", endpoint: "http://new.internal/v1" }),
    });
    const next = (await polled).json();
    expect(next.route_version).not.toBe(first.route_version);
    expect(next.targets.find((x: { role: string }) => x.role === "primary").model_version).toBe("3.4.0");
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("answers with the same version when nothing changed within the wait", async () => {
    const first = (await routes()).json();
    const again = await routes(`?since=${first.route_version}&wait=1`);
    expect(again.statusCode).toBe(200);
    expect(again.json().route_version).toBe(first.route_version);
  });
});
