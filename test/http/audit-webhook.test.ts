import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { mlflowDelivery } from "../support/mlflow-deliveries.js";
import { type MlflowVersions, startMlflowVersions } from "../support/mlflow-versions.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const SECRET = "whsec-audit-9c2e";
const MLFLOW_TOKEN = "mlflow-token-audit-4d1a";
const DAY = 86_400_000;

describe.each(dialects())("the audit log of MLflow's signed webhooks on %s", (dialect) => {
  let t: TestApp;
  let mlflow: MlflowVersions;
  beforeEach(async () => {
    mlflow = await startMlflowVersions();
    mlflow.models.set("fraud-gbm", {
      tags: { owner_team: "risk" },
      aliases: { champion: "3" },
      versions: { "3": { creation_timestamp: NOW - 3 * DAY, tags: { training_data_cutoff: "2026-11-01" } } },
    });
    t = await startTestApp(dialect, {
      now: NOW,
      mlflow: {
        webhookSecret: SECRET,
        url: mlflow.url,
        token: MLFLOW_TOKEN,
        alias: "champion",
        environment: "production",
      },
    });
  });
  afterEach(async () => {
    await t.close();
    await mlflow.close();
  });

  it("records a delivery that changed the registry as webhook:mlflow with its answer, the registration it made in its own transaction, and nothing for a forged one", async () => {
    const delivery = mlflowDelivery({
      secret: SECRET,
      event: "model_version_alias.created",
      data: { name: "fraud-gbm", alias: "champion", version: "3" },
      at: NOW - 2000,
    });
    const send = (headers: Record<string, string>) =>
      t.request({ method: "POST", url: "/v1/hooks/mlflow", body: delivery.body, headers, token: null });
    const forged = await send({ ...delivery.headers, "x-mlflow-signature": "v1,AAAA" });
    expect(forged.statusCode).toBe(401);
    expect((await t.context.audit.list({ limit: 10 })).items).toEqual([]);

    expect((await send(delivery.headers)).statusCode).toBe(200);
    const { items } = await t.context.audit.list({ limit: 10 });
    expect(items).toEqual([
      expect.objectContaining({
        actor: "webhook:mlflow",
        action: "mlflow.webhook",
        origin: "http",
        path: "/v1/hooks/mlflow",
        status: 200,
        after: expect.objectContaining({ delivery_id: delivery.delivery_id }),
      }),
      expect.objectContaining({
        actor: "mlflow-webhook",
        action: "deployment.register",
        target: "model:fraud-gbm/production",
        origin: "http",
        path: "/v1/hooks/mlflow",
        before: null,
        after: expect.objectContaining({ model: "fraud-gbm", model_version: "3", status: "active" }),
      }),
    ]);
    const text = JSON.stringify(items);
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(MLFLOW_TOKEN);
  });
});
