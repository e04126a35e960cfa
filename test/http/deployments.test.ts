import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const DAY = 86_400_000;

describe.each(dialects())("deployments API on %s", (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW });
  });
  afterEach(async () => {
    await t.close();
  });

  const register = (overrides: Record<string, unknown> = {}, headers?: Record<string, string>) =>
    t.request({ method: "POST", url: "/v1/deployments", body: registration(overrides), headers });

  it("registers a deployment with its metadata, deployment_date defaulting to receipt time", async () => {
    const res = await register();
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(res.headers.location).toBe(`/v1/deployments/${body.id}`);
    expect(body).toMatchObject({
      model: "fraud-gbm",
      model_version: "3.2.0",
      environment: "production",
      owner_team: "risk",
      role: "primary",
      status: "active",
      deployment_date: "2026-11-25T12:00:00.000Z",
      training_data_cutoff: "2026-10-01T00:00:00.000Z",
      ended_at: null,
      created_by: "token:admin",
    });
    expect(body.age).toEqual({
      deployment_age_seconds: 0,
      data_age_seconds: (NOW - Date.parse("2026-10-01T00:00:00Z")) / 1000,
      performance_age_seconds: null,
      ttl_seconds: 90 * 86_400,
      ttl_fraction: 0,
      stage: "fresh",
      health_score: 100,
      verdict: "keep",
      policy: "default",
      exempt: false,
      forecast: null,
      forecast_reason: "its policy default sets no performance target",
    });
  });

  it("refuses a registration without training_data_cutoff and owner_team, naming both, and stores nothing", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: { model: "fraud-gbm", model_version: "1" },
    });
    expect(res.statusCode).toBe(400);
    expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const problem = res.json();
    expect(problem).toMatchObject({ status: 400, title: "Bad Request" });
    expect(problem.type).toMatch(/validation$/);
    const fields = problem.errors.map((e: { field: string }) => e.field).sort();
    expect(fields).toEqual(["owner_team", "training_data_cutoff"]);
    expect(problem.errors.every((e: { message: string }) => e.message === "is required")).toBe(true);
    const list = await t.request({ method: "GET", url: "/v1/deployments" });
    expect(list.json().items).toEqual([]);
  });

  it.each([
    ["a model name that is not a slug", { model: "Fraud GBM" }, "model"],
    ["a team that is not a slug", { owner_team: "-risk" }, "owner_team"],
    ["a date that does not parse", { training_data_cutoff: "last tuesday" }, "training_data_cutoff"],
    ["an unknown field", { colour: "blue" }, "colour"],
    ["a wrong type", { model_version: 3 }, "model_version"],
    ["an unknown role", { role: "backup" }, "role"],
  ])("refuses %s, naming the field", async (_what, overrides, field) => {
    const res = await register(overrides);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it("refuses a training_data_cutoff after the deployment_date", async () => {
    const res = await register({
      training_data_cutoff: "2026-11-20",
      deployment_date: "2026-11-10T00:00:00Z",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].field).toBe("training_data_cutoff");
  });

  it("refuses a deployment_date more than five minutes in the future, and accepts clock skew below it", async () => {
    const far = await register({ deployment_date: new Date(NOW + 6 * 60_000).toISOString() });
    expect(far.statusCode).toBe(400);
    expect(far.json().errors[0].field).toBe("deployment_date");
    const near = await register({ deployment_date: new Date(NOW + 4 * 60_000).toISOString() });
    expect(near.statusCode).toBe(201);
  });

  it("answers malformed JSON and oversized bodies with problem+json 400 and 413", async () => {
    const malformed = await t.request({ method: "POST", url: "/v1/deployments", body: '{"model": ' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.headers["content-type"]).toMatch(/problem\+json/);
    const huge = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: JSON.stringify(registration({ tags: { note: "x".repeat(200) }, pad: "y".repeat(1_100_000) })),
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().status).toBe(413);
  });

  it("returns the first answer to a retry with the same Idempotency-Key, and refuses the key for another body", async () => {
    const first = await register({}, { "idempotency-key": "deploy-42" });
    const retry = await register({}, { "idempotency-key": "deploy-42" });
    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json()).toEqual(first.json());
    const other = await register({ model_version: "3.3.0" }, { "idempotency-key": "deploy-42" });
    expect(other.statusCode).toBe(409);
    const list = await t.request({ method: "GET", url: "/v1/deployments" });
    expect(list.json().items).toHaveLength(1);
  });

  it("answers concurrent retries with the same Idempotency-Key with one deployment", async () => {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => register({}, { "idempotency-key": "race-1" })),
    );
    expect(results.map((r) => r.statusCode)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(results.map((r) => r.json().id)).size).toBe(1);
    expect(results.filter((r) => r.headers["idempotent-replayed"] === "true")).toHaveLength(4);
  });

  it("a second primary supersedes the first in one transaction, with an event on each", async () => {
    const first = (await register({ deployment_date: new Date(NOW - 10 * DAY).toISOString() })).json();
    const second = (await register({ model_version: "3.3.0" })).json();
    const old = (await t.request({ method: "GET", url: `/v1/deployments/${first.id}` })).json();
    expect(old.status).toBe("superseded");
    expect(old.ended_at).toBe(second.deployment_date);
    expect(old.age.stage).toBeNull();
    expect(old.age.deployment_age_seconds).toBe(10 * 86_400);
    const oldEvents = (await t.request({ method: "GET", url: `/v1/deployments/${first.id}/events` })).json()
      .items;
    expect(oldEvents.map((e: { type: string }) => e.type)).toEqual(["deployed", "superseded"]);
    expect(oldEvents[1]).toMatchObject({ actor: "token:admin", data: { superseded_by: second.id } });
    const newEvents = (await t.request({ method: "GET", url: `/v1/deployments/${second.id}/events` })).json()
      .items;
    expect(newEvents).toEqual([
      expect.objectContaining({ type: "deployed", data: expect.objectContaining({ supersedes: first.id }) }),
    ]);
  });

  it("keeps exactly one live primary when twenty registrations race", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => register({ model_version: `4.0.${i}` })),
    );
    expect(results.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    const live = (
      await t.request({ method: "GET", url: "/v1/deployments?model=fraud-gbm&status=active&role=primary" })
    ).json().items;
    expect(live).toHaveLength(1);
    const superseded = (
      await t.request({ method: "GET", url: "/v1/deployments?status=superseded&limit=100" })
    ).json().items;
    expect(superseded).toHaveLength(19);
  });

  it("a refused registration committed beside others in one batch leaves nothing behind and fails none of them", async () => {
    await register({ model: "owned", owner_team: "risk" });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? register({ model: "owned", owner_team: "growth", model_version: `bad-${i}` })
          : register({ model: `batch-${i}`, model_version: `1.${i}` }),
      ),
    );
    expect(results.map((r) => r.statusCode)).toEqual(
      Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? 409 : 201)),
    );
    const versions = await t.context.database.db
      .selectFrom("model_versions")
      .select("model_version")
      .execute();
    expect(versions.map((v) => v.model_version).filter((v) => v.startsWith("bad-"))).toEqual([]);
    const live = (await t.request({ method: "GET", url: "/v1/deployments?limit=100" })).json().items;
    expect(live).toHaveLength(21);
  });

  it("lets shadows and canaries serve beside the primary without superseding it", async () => {
    const primary = (await register()).json();
    const shadow = await register({ model_version: "3.3.0", role: "shadow" });
    const canary = await register({ model_version: "3.3.1", role: "canary" });
    expect([shadow.statusCode, canary.statusCode]).toEqual([201, 201]);
    const still = (await t.request({ method: "GET", url: `/v1/deployments/${primary.id}` })).json();
    expect(still.status).toBe("active");
  });

  it("refuses a model registered under another team, and a version with another cutoff", async () => {
    await register();
    const team = await register({ owner_team: "growth", model_version: "9" });
    expect(team.statusCode).toBe(409);
    expect(team.json().detail).toContain("owned by team risk");
    const cutoff = await register({ training_data_cutoff: "2026-09-01", environment: "staging" });
    expect(cutoff.statusCode).toBe(400);
    expect(cutoff.json().errors[0].field).toBe("training_data_cutoff");
  });

  it("lists oldest first with filters, stages and cursor paging", async () => {
    const ages = [100, 80, 75, 50, 10, 1];
    for (const [i, days] of ages.entries()) {
      await register({
        model: `model-${i}`,
        owner_team: i % 2 ? "growth" : "risk",
        environment: i < 3 ? "production" : "staging",
        deployment_date: new Date(NOW - days * DAY).toISOString(),
        training_data_cutoff: new Date(NOW - (days + 7) * DAY).toISOString(),
      });
    }
    const all = (await t.request({ method: "GET", url: "/v1/deployments" })).json();
    expect(all.items.map((d: { model: string }) => d.model)).toEqual(ages.map((_, i) => `model-${i}`));
    expect(all.next_cursor).toBeNull();
    const youngest = (await t.request({ method: "GET", url: "/v1/deployments?sort=age&limit=1" })).json();
    expect(youngest.items[0].model).toBe("model-5");

    const stages = async (stage: string) =>
      (await t.request({ method: "GET", url: `/v1/deployments?stage=${stage}` }))
        .json()
        .items.map((d: { model: string; age: { stage: string } }) => {
          expect(d.age.stage).toBe(stage);
          return d.model;
        });
    expect(await stages("expired")).toEqual(["model-0"]);
    expect(await stages("due")).toEqual(["model-1", "model-2"]);
    expect(await stages("fresh")).toEqual(["model-3", "model-4", "model-5"]);

    const team = (
      await t.request({ method: "GET", url: "/v1/deployments?owner_team=growth&environment=staging" })
    ).json();
    expect(team.items.map((d: { model: string }) => d.model)).toEqual(["model-3", "model-5"]);

    const seen: string[] = [];
    let url = "/v1/deployments?limit=4";
    for (;;) {
      const page = (await t.request({ method: "GET", url })).json();
      seen.push(...page.items.map((d: { model: string }) => d.model));
      if (!page.next_cursor) break;
      url = `/v1/deployments?limit=4&cursor=${page.next_cursor}`;
    }
    expect(seen).toEqual(ages.map((_, i) => `model-${i}`));
    const bad = await t.request({ method: "GET", url: "/v1/deployments?cursor=not-a-cursor" });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe("cursor");
  });

  it("retires a live deployment once, recording who and why", async () => {
    const d = (await register()).json();
    t.setNow(NOW + DAY);
    const res = await t.request({
      method: "POST",
      url: `/v1/deployments/${d.id}/retire`,
      body: { reason: "replaced by rules" },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ status: "retired", ended_at: new Date(NOW + DAY).toISOString() });
    const again = await t.request({ method: "POST", url: `/v1/deployments/${d.id}/retire` });
    expect(again.statusCode).toBe(409);
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${d.id}/events` })).json().items;
    expect(events.at(-1)).toMatchObject({
      type: "retired",
      actor: "token:admin",
      data: { reason: "replaced by rules" },
    });
    expect((await t.request({ method: "POST", url: "/v1/deployments/999/retire" })).statusCode).toBe(404);
  });

  it("answers unknown ids and routes with 404 problem+json, and bad ids with 400", async () => {
    expect((await t.request({ method: "GET", url: "/v1/deployments/12345" })).statusCode).toBe(404);
    expect((await t.request({ method: "GET", url: "/v1/deployments/abc" })).statusCode).toBe(400);
    expect((await t.request({ method: "GET", url: "/v1/deployments/99999999999" })).statusCode).toBe(400);
    const none = await t.request({ method: "GET", url: "/v1/nothing" });
    expect(none.statusCode).toBe(404);
    expect(none.headers["content-type"]).toMatch(/problem\+json/);
  });
});
