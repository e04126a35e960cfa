import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LocalClient, localActor } from "../../src/cli/local-client.js";
import { type Context, openContext } from "../../src/context.js";
import { RegisterDeploymentBody } from "../../src/registry/deployment-input.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { registration } from "../support/test-app.js";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
/** As the CLI hands it to the registry: validated first, defaults filled in (the local registry trusts it). */
const body = (overrides: Record<string, unknown> = {}) =>
  RegisterDeploymentBody.parse(registration(overrides));

describe.each(dialects())("the CLI's changes on the database are audited as `local` (%s)", (dialect) => {
  let database: TestDatabase;
  let context: Context;
  let client: LocalClient;
  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    context = await openContext(database.url, { clock: () => NOW });
    client = new LocalClient(context);
  });
  afterEach(async () => {
    await client.close();
    await database.drop();
  });

  const entries = async () => (await client.audit({ limit: 100 })).items;

  it("records golden, rollback, review, alert resolution, sweep and retry once each, with before and after", async () => {
    const register = async (version: string) =>
      (await client.register(body({ model_version: version }))).deployment;
    await register("3.1.0");
    const current = await register("3.2.0");
    await client.setGolden("fraud-gbm", "production", "3.1.0");
    const rolledBack = await client.rollback("fraud-gbm", "production");
    const live = rolledBack.deployment.id;
    await client.review(live, "fine", 3600);
    const [alert] = await context.stores.alerts.insertAlerts([
      {
        deployment_id: live,
        kind: "canary_failed",
        severity: "page",
        policy: "default",
        model: "fraud-gbm",
        model_version: "3.1.0",
        environment: "production",
        owner_team: "risk",
        summary: "the canary failed",
        detail: {},
        opened_at: NOW,
      },
    ]);
    await client.resolveAlert(alert?.id as number, "checked");
    await client.sweep({});
    await client.retryDeliveries();

    const items = await entries();
    expect(items.every((e) => e.origin === "local" && e.actor === localActor().name)).toBe(true);
    expect(items.map((e) => [e.action, e.target])).toEqual([
      ["deliveries.retry", null],
      ["sweep.run", null],
      ["alert.resolve", `alert:${alert?.id}`],
      ["deployment.review", `deployment:${live}`],
      ["model.rollback", "model:fraud-gbm/production"],
      ["model.golden", "model:fraud-gbm/production"],
      ["deployment.register", "model:fraud-gbm/production"],
      ["deployment.register", "model:fraud-gbm/production"],
    ]);
    const byAction = (action: string) => items.find((e) => e.action === action);
    expect(byAction("model.rollback")).toMatchObject({
      before: { golden_version: "3.1.0", live: [{ id: current.id, model_version: "3.2.0" }] },
      after: { golden_version: "3.1.0", live: [{ id: live, model_version: "3.1.0" }] },
    });
    expect(byAction("deployment.review")).toMatchObject({
      before: { ttl_extension_seconds: 0 },
      after: { ttl_extension_seconds: 3600 },
    });
    expect(byAction("alert.resolve")).toMatchObject({
      before: { state: "open" },
      after: { state: "resolved" },
    });
    expect(byAction("deliveries.retry")).toMatchObject({ after: { retried: 0 } });
  });

  it("records nothing for a change the registry refuses", async () => {
    const { deployment } = await client.register(body());
    await client.retire(deployment.id);
    const before = await entries();
    await expect(client.retire(deployment.id)).rejects.toThrow();
    await expect(client.rollback("no-such-model", "production")).rejects.toThrow();
    await expect(client.review(999_999, "x")).rejects.toThrow();
    expect(await entries()).toEqual(before);
  });
});
