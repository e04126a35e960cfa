import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { refuseInserts } from "../support/refuse-inserts.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");

describe.each(dialects())("a change and its audit row commit together or not at all (%s)", (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW });
  });
  afterEach(async () => {
    await t.close();
  });

  const post = (url: string, body: Record<string, unknown> = {}, method: "POST" | "PUT" = "POST") =>
    t.request({ method, url, body, token: t.tokens.admin });
  const auditRows = async () => (await t.context.audit.list({ limit: 500 })).items;
  const live = () => t.context.stores.deployments.listLiveForModels(["fraud-gbm"]);
  const events = (id: number) => t.context.stores.deployments.listEvents(id);
  const golden = () => t.context.stores.models.findGolden("fraud-gbm", "production");

  /** Two deployments and a golden version, registered while the log still takes rows. */
  async function seed() {
    const first = (await post("/v1/deployments", registration({ model_version: "1.0.0" }))).json();
    const shadow = (
      await post("/v1/deployments", registration({ model_version: "2.0.0", role: "shadow" }))
    ).json();
    expect((await post("/v1/models/fraud-gbm/golden", { model_version: "1.0.0" }, "PUT")).statusCode).toBe(
      200,
    );
    return { first: first.id as number, shadow: shadow.id as number };
  }

  it("rolls back a registration, a retirement, a review, a golden version and a rollback whose audit row cannot be written", async () => {
    const { first, shadow } = await seed();
    const liveBefore = await live();
    const rowsBefore = await auditRows();
    const eventsBefore = [await events(first), await events(shadow)];
    await refuseInserts(t, "audit_log");

    const refused = [
      await post("/v1/deployments", registration({ model_version: "3.0.0" })),
      await post(`/v1/deployments/${shadow}/retire`, { reason: "done" }),
      await post(`/v1/deployments/${first}/review`, { note: "looked", extend_seconds: 86_400 }),
      await post("/v1/models/fraud-gbm/golden", { model_version: "2.0.0" }, "PUT"),
      await post("/v1/models/fraud-gbm/rollback", { to_version: "2.0.0", reason: "test" }),
    ];
    for (const response of refused) expect(response.statusCode, response.body).toBeGreaterThanOrEqual(500);

    expect(await live()).toEqual(liveBefore);
    expect(await t.context.stores.models.findVersion("fraud-gbm", "3.0.0")).toBeUndefined();
    expect([await events(first), await events(shadow)]).toEqual(eventsBefore);
    expect(await golden()).toMatchObject({ model_version: "1.0.0" });
    expect(await auditRows()).toEqual(rowsBefore);
  });

  it("leaves no audit row for a registration, a retirement or a review that fails after its row was appended", async () => {
    const { first, shadow } = await seed();
    const liveBefore = await live();
    const rowsBefore = await auditRows();
    // The events are written after the audit row in each of these transactions.
    await refuseInserts(t, "deployment_events");

    const failed = [
      await post("/v1/deployments", registration({ model_version: "3.0.0" })),
      await post(`/v1/deployments/${shadow}/retire`, { reason: "done" }),
      await post(`/v1/deployments/${first}/review`, { note: "looked", extend_seconds: 86_400 }),
    ];
    for (const response of failed) expect(response.statusCode, response.body).toBeGreaterThanOrEqual(500);

    expect(await live()).toEqual(liveBefore);
    expect(await auditRows()).toEqual(rowsBefore);
  });

  it("records each successful change once, in its own transaction, before the answer is sent", async () => {
    const { first } = await seed();
    const retire = await post(`/v1/deployments/${first}/retire`, { reason: "done" });
    expect(retire.statusCode).toBe(200);
    // No wait: the row committed with the change, so it is there when the answer arrives.
    const [row] = await auditRows();
    expect(row).toMatchObject({
      actor: "token:admin",
      action: "deployment.retire",
      target: `deployment:${first}`,
      origin: "http",
      method: "POST",
      path: `/v1/deployments/${first}/retire`,
      status: 200,
      before: { status: "active" },
      after: { status: "retired" },
    });
    expect((await auditRows()).map((r) => r.action)).toEqual([
      "deployment.retire",
      "model.golden",
      "deployment.register",
      "deployment.register",
    ]);
  });
});
