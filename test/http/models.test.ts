import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const DAY = 86_400_000;

describe.each(dialects())("models, golden versions and rollback on %s", (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW });
    // 3.1.0 served from day -100, 3.2.0 from day -30: the history a rollback needs.
    for (const [version, days, cutoff] of [
      ["3.1.0", 100, "2026-07-01"],
      ["3.2.0", 30, "2026-10-01"],
    ] as const) {
      const res = await t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration({
          model_version: version,
          training_data_cutoff: cutoff,
          deployment_date: new Date(NOW - days * DAY).toISOString(),
        }),
      });
      expect(res.statusCode).toBe(201);
    }
  });
  afterEach(async () => {
    await t.close();
  });

  const golden = (version: string, environment = "production") =>
    t.request({
      method: "PUT",
      url: "/v1/models/fraud-gbm/golden",
      body: { model_version: version, environment },
    });
  const rollback = (body: Record<string, unknown> = {}) =>
    t.request({
      method: "POST",
      url: "/v1/models/fraud-gbm/rollback",
      body: { environment: "production", ...body },
    });

  it("shows a model with its versions, live deployments and golden version per environment", async () => {
    expect((await golden("3.1.0")).statusCode).toBe(200);
    const model = (await t.request({ method: "GET", url: "/v1/models/fraud-gbm" })).json();
    expect(model).toMatchObject({ name: "fraud-gbm", owner_team: "risk" });
    expect(model.versions.map((v: { model_version: string }) => v.model_version)).toEqual(["3.1.0", "3.2.0"]);
    expect(model.environments).toEqual([
      expect.objectContaining({
        environment: "production",
        golden_version: "3.1.0",
        live: [expect.objectContaining({ model_version: "3.2.0" })],
      }),
    ]);
    const list = (await t.request({ method: "GET", url: "/v1/models" })).json();
    expect(list.items.map((m: { name: string }) => m.name)).toEqual(["fraud-gbm"]);
    expect((await t.request({ method: "GET", url: "/v1/models/nope" })).statusCode).toBe(404);
  });

  it("lists a model's events, its own golden_set among its deployments', with who and when", async () => {
    await golden("3.1.0");
    const res = await t.request({ method: "GET", url: "/v1/models/fraud-gbm/events" });
    expect(res.statusCode).toBe(200);
    const events = res.json().items as {
      type: string;
      actor: string;
      deployment_id: number | null;
      at: string;
    }[];
    expect(events.map((e) => e.type)).toEqual(["deployed", "deployed", "superseded", "golden_set"]);
    expect(events.at(-1)).toMatchObject({
      deployment_id: null,
      actor: "token:admin",
      at: new Date(NOW).toISOString(),
    });
    expect((await t.request({ method: "GET", url: "/v1/models/ghost/events" })).statusCode).toBe(404);
  });

  it("lists only the model's own events, from every environment, in the order they happened", async () => {
    const register = async (overrides: Record<string, unknown>) =>
      expect(
        (await t.request({ method: "POST", url: "/v1/deployments", body: registration(overrides) }))
          .statusCode,
      ).toBe(201);
    // Another model in the same environment, with a golden version of its own, and this model
    // in a second environment: a model's history is all of its own and nothing of the other's.
    await register({ model: "churn-lr", model_version: "1.0.0" });
    await t.request({
      method: "PUT",
      url: "/v1/models/churn-lr/golden",
      body: { model_version: "1.0.0", environment: "production" },
    });
    await register({ environment: "staging", model_version: "3.3.0" });
    await golden("3.1.0");
    const items = (await t.request({ method: "GET", url: "/v1/models/fraud-gbm/events" })).json().items as {
      id: number;
      type: string;
      environment: string;
      model: string;
    }[];
    expect(items.map((e) => [e.type, e.environment])).toEqual([
      ["deployed", "production"],
      ["deployed", "production"],
      ["superseded", "production"],
      ["deployed", "staging"],
      ["golden_set", "production"],
    ]);
    expect(items.every((e) => e.model === "fraud-gbm")).toBe(true);
    expect(items.map((e) => e.id)).toEqual(items.map((e) => e.id).sort((a, b) => a - b));
    const other = (await t.request({ method: "GET", url: "/v1/models/churn-lr/events" })).json().items;
    expect(other.map((e: { type: string }) => e.type)).toEqual(["deployed", "golden_set"]);
  });

  it("refuses a golden version that was never registered", async () => {
    const res = await golden("9.9.9");
    expect(res.statusCode).toBe(404);
    expect(res.json().detail).toContain("9.9.9");
  });

  it("rolls back to the golden version: it is the live primary again and the current one ends rolled_back", async () => {
    await golden("3.1.0");
    t.setNow(NOW + 60_000);
    const res = await rollback({ reason: "AUC fell to 0.81" });
    expect(res.statusCode).toBe(200);
    const { deployment, rolled_back } = res.json();
    expect(deployment).toMatchObject({
      model_version: "3.1.0",
      role: "primary",
      status: "active",
      training_data_cutoff: "2026-07-01T00:00:00.000Z",
      deployment_date: new Date(NOW + 60_000).toISOString(),
    });
    expect(rolled_back).toMatchObject({ model_version: "3.2.0", status: "rolled_back" });
    const live = (
      await t.request({ method: "GET", url: "/v1/deployments?model=fraud-gbm&status=active" })
    ).json();
    expect(live.items.map((d: { id: number }) => d.id)).toEqual([deployment.id]);
    const oldEvents = (
      await t.request({ method: "GET", url: `/v1/deployments/${rolled_back.id}/events` })
    ).json();
    expect(oldEvents.items.at(-1)).toMatchObject({
      type: "rolled_back",
      actor: "token:admin",
      data: { to_version: "3.1.0", rolled_back_to: deployment.id, reason: "AUC fell to 0.81" },
    });
    const newEvents = (
      await t.request({ method: "GET", url: `/v1/deployments/${deployment.id}/events` })
    ).json();
    expect(newEvents.items[0]).toMatchObject({ type: "deployed", data: { rollback_of: rolled_back.id } });
  });

  it("sends a rolled-back-to version's traffic to the endpoint it last served at, not the current one's", async () => {
    const register = async (version: string, endpoint?: string, environment = "production") =>
      (
        await t.request({
          method: "POST",
          url: "/v1/deployments",
          body: registration({
            model_version: version,
            training_data_cutoff: version === "3.1.0" ? "2026-07-01" : "2026-10-01",
            environment,
            ...(endpoint ? { endpoint } : {}),
          }),
        })
      ).statusCode;
    expect(await register("3.1.0", "http://old.internal/v1")).toBe(201);
    expect(await register("3.1.0", "http://staging.internal/v1", "staging")).toBe(201);
    expect(await register("3.2.0", "http://new.internal/v1")).toBe(201);
    const res = await rollback({ to_version: "3.1.0" });
    expect(res.statusCode).toBe(200);
    expect(res.json().deployment).toMatchObject({
      model_version: "3.1.0",
      endpoint: "http://old.internal/v1",
    });
  });

  it("keeps the current endpoint when the rolled-back-to version never had one", async () => {
    await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ model_version: "3.2.0", endpoint: "http://current.internal/v1" }),
    });
    const res = await rollback({ to_version: "3.1.0" });
    expect(res.json().deployment).toMatchObject({
      model_version: "3.1.0",
      endpoint: "http://current.internal/v1",
    });
  });

  it("rolls back to a named version without a golden one", async () => {
    const res = await rollback({ to_version: "3.1.0" });
    expect(res.statusCode).toBe(200);
    expect(res.json().deployment.model_version).toBe("3.1.0");
  });

  it("refuses a rollback with no golden version and no named version, changing nothing", async () => {
    const res = await rollback();
    expect(res.statusCode).toBe(409);
    expect(res.json().detail).toMatch(/no golden version in production/);
    const live = (await t.request({ method: "GET", url: "/v1/deployments?status=active" })).json();
    expect(live.items.map((d: { model_version: string }) => d.model_version)).toEqual(["3.2.0"]);
  });

  it("refuses a rollback to the version that is already live, and to an unknown version", async () => {
    expect((await rollback({ to_version: "3.2.0" })).statusCode).toBe(409);
    expect((await rollback({ to_version: "1.0.0" })).statusCode).toBe(404);
    expect(
      (await t.request({ method: "POST", url: "/v1/models/ghost/rollback", body: { to_version: "1" } }))
        .statusCode,
    ).toBe(404);
  });

  it("keeps golden versions per environment", async () => {
    await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({
        model_version: "3.2.0",
        training_data_cutoff: "2026-10-01",
        environment: "staging",
      }),
    });
    await golden("3.2.0", "staging");
    await golden("3.1.0", "production");
    const model = (await t.request({ method: "GET", url: "/v1/models/fraud-gbm" })).json();
    const byEnv = Object.fromEntries(
      model.environments.map((e: { environment: string; golden_version: string }) => [
        e.environment,
        e.golden_version,
      ]),
    );
    expect(byEnv).toEqual({ production: "3.1.0", staging: "3.2.0" });
  });
});
