import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mlflowDelivery } from "../support/mlflow-deliveries.js";
import { type MlflowVersions, startMlflowVersions } from "../support/mlflow-versions.js";
import { expectOneLineFailure, runTenure, startServe, tempDir } from "../support/process.js";

const SECRET = "whsec-e2e-91c2";
const TOKEN = "mlflow-e2e-token-5d7a";

describe("tenure serve with MLflow's webhook", () => {
  let dir: ReturnType<typeof tempDir>;
  let mlflow: MlflowVersions;
  beforeEach(async () => {
    dir = tempDir();
    mlflow = await startMlflowVersions();
    mlflow.models.set("fraud-gbm", {
      tags: { owner_team: "risk", training_data_cutoff: "2026-01-01" },
      aliases: { prod: "7" },
      versions: { "7": { creation_timestamp: Date.now() - 86_400_000 } },
    });
  });
  afterEach(async () => {
    await mlflow.close();
    dir.remove();
  });

  it("takes a signed delivery over HTTP with the secret from the environment and the flags, and never logs the token", async () => {
    const serve = await startServe({
      cwd: dir.path,
      database: `${dir.path}/tenure.db`,
      env: { TENURE_MLFLOW_WEBHOOK_SECRET: SECRET, TENURE_MLFLOW_TOKEN: TOKEN },
      extraArgs: ["--mlflow-url", mlflow.url, "--mlflow-alias", "prod", "--mlflow-environment", "eu-prod"],
    });
    try {
      // The server answers before its start-up line is written (the missed slot's sweep runs first).
      await serve.startupLine();
      const delivery = mlflowDelivery({
        secret: SECRET,
        event: "model_version_alias.created",
        data: { name: "fraud-gbm", alias: "prod", version: "7" },
        at: Date.now(),
      });
      const res = await fetch(`${serve.url}/v1/hooks/mlflow`, {
        method: "POST",
        headers: delivery.headers,
        body: delivery.body,
      });
      const answer = (await res.json()) as {
        outcome: string;
        report: { registered: { environment: string }[] };
      };
      expect(res.status).toBe(200);
      expect(answer.outcome).toBe("recorded");
      expect(answer.report.registered[0]?.environment).toBe("eu-prod");
      expect(mlflow.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    } finally {
      await serve.stop();
    }
    expect(serve.stdout()).toContain('"mlflow_webhook":"on"');
    expect(`${serve.stdout()}${serve.stderr()}`).not.toContain(TOKEN);
    expect(`${serve.stdout()}${serve.stderr()}`).not.toContain(SECRET);
  });

  it("refuses to start with a webhook secret but no MLflow URL, in one line", async () => {
    const result = await runTenure(
      ["serve", "--mlflow-webhook-secret", SECRET, "--database", `${dir.path}/t.db`],
      {
        cwd: dir.path,
      },
    );
    expect(expectOneLineFailure(result, 2)).toMatch(/^tenure: --mlflow-webhook-secret needs --mlflow-url/);
  });
});
