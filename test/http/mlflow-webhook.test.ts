import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isoTime } from "../../src/core/iso-time.js";
import { checkMlflowSettings } from "../../src/integrations/mlflow/mlflow-webhook.js";
import { dialects } from "../support/databases.js";
import { type MlflowDelivery, mlflowDelivery } from "../support/mlflow-deliveries.js";
import { type MlflowVersions, startMlflowVersions } from "../support/mlflow-versions.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const SECRET = "whsec-test-6b1f";
const DAY = 86_400_000;

describe.each(dialects())("POST /v1/hooks/mlflow on %s", (dialect) => {
  let t: TestApp;
  let mlflow: MlflowVersions;
  beforeEach(async () => {
    mlflow = await startMlflowVersions();
    mlflow.models.set("fraud-gbm", {
      tags: { owner_team: "risk" },
      aliases: { champion: "3" },
      versions: {
        "2": { creation_timestamp: NOW - 40 * DAY, tags: { training_data_cutoff: "2026-09-01" } },
        "3": { creation_timestamp: NOW - 3 * DAY, tags: { training_data_cutoff: "2026-11-01" } },
        "4": { creation_timestamp: NOW - DAY, tags: {} },
      },
    });
    t = await startTestApp(dialect, {
      now: NOW,
      mlflow: {
        webhookSecret: SECRET,
        url: mlflow.url,
        token: "mlflow-token-1",
        alias: "champion",
        environment: "production",
      },
    });
  });
  afterEach(async () => {
    await t.close();
    await mlflow.close();
  });

  /** Sends a delivery as MLflow does: its own bytes and headers, and no bearer token. */
  const send = (delivery: Pick<MlflowDelivery, "body" | "headers">, token: string | null = null) =>
    t.request({
      method: "POST",
      url: "/v1/hooks/mlflow",
      body: delivery.body,
      headers: delivery.headers,
      token,
    });

  const aliasSet = (version: string, at = NOW - 2000, alias = "champion") =>
    mlflowDelivery({
      secret: SECRET,
      event: "model_version_alias.created",
      data: { name: "fraud-gbm", alias, version },
      at,
    });

  const live = async () =>
    (
      await t.request({
        method: "GET",
        url: "/v1/deployments?model=fraud-gbm&status=active&role=primary",
      })
    ).json().items as {
      id: number;
      model_version: string;
      deployment_date: string;
      tags: Record<string, string>;
    }[];

  it("records an alias move to the served version as a deployment dated by the delivery's own time (exact)", async () => {
    const delivery = aliasSet("3");
    const res = await send(delivery);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      delivery_id: delivery.delivery_id,
      event: "model_version_alias.created",
      outcome: "recorded",
    });
    const id = res.json().report.registered[0].deployment_id;
    const deployment = (await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
    // The envelope's time (to the microsecond, cut to ms), not the header's whole seconds.
    expect(deployment.deployment_date).toBe(isoTime(Date.parse(delivery.sent_at)));
    expect(deployment.deployment_date).toBe("2026-11-25T11:59:58.000Z");
    expect(deployment).toMatchObject({
      model: "fraud-gbm",
      model_version: "3",
      environment: "production",
      owner_team: "risk",
      training_data_cutoff: "2026-11-01T00:00:00.000Z",
      created_by: "mlflow-webhook",
      tags: {
        "tenure.dev/source": "mlflow",
        "tenure.dev/source-ref": "models:/fraud-gbm@champion",
        "tenure.dev/deployment-date-basis": "exact",
      },
    });
    // The metadata came from MLflow's REST API, asked with the configured token.
    expect(mlflow.requests.map((r) => r.path).sort()).toEqual([
      "/api/2.0/mlflow/model-versions/get?name=fraud-gbm&version=3",
      "/api/2.0/mlflow/registered-models/get?name=fraud-gbm",
    ]);
    expect(mlflow.requests.every((r) => r.headers.authorization === "Bearer mlflow-token-1")).toBe(true);
  });

  it("names a model as the MLflow sync does: `Fraud GBM` is the deployment `fraud-gbm`, its MLflow name in the ref", async () => {
    const model = mlflow.models.get("fraud-gbm");
    mlflow.models.delete("fraud-gbm");
    if (model) mlflow.models.set("Fraud GBM", model);
    const delivery = mlflowDelivery({
      secret: SECRET,
      event: "model_version_alias.created",
      data: { name: "Fraud GBM", alias: "champion", version: "3" },
      at: NOW - 2000,
    });
    const res = await send(delivery);
    expect(res.json()).toMatchObject({ outcome: "recorded" });
    expect(await live()).toEqual([
      expect.objectContaining({
        model_version: "3",
        tags: expect.objectContaining({ "tenure.dev/source-ref": "models:/Fraud GBM@champion" }),
      }),
    ]);
  });

  it("a later move supersedes the first, each dated by its own delivery", async () => {
    await send(aliasSet("3", NOW - 60_000));
    const model = mlflow.models.get("fraud-gbm");
    if (!model) throw new Error("no model");
    model.aliases = { champion: "2" };
    const res = await send(aliasSet("2", NOW - 1000));
    expect(res.json().outcome).toBe("recorded");
    expect(res.json().report.registered[0].supersedes).toMatchObject({ model_version: "3" });
    expect((await live()).map((d) => [d.model_version, d.deployment_date])).toEqual([
      ["2", isoTime(NOW - 1000)],
    ]);
  });

  it("verifies the signature over the raw bytes: MLflow's json.dumps spacing passes, the same JSON re-serialized is refused", async () => {
    const delivery = aliasSet("3");
    expect(delivery.body).toContain('"entity": "model_version_alias", "action": "created"');
    const compact = { ...delivery, body: JSON.stringify(JSON.parse(delivery.body)) };
    const refused = await send(compact);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().detail).toMatch(/does not match the body/);
    expect(await live()).toEqual([]);
    const trailing = await send({ ...delivery, body: `${delivery.body}\n` });
    expect(trailing.statusCode).toBe(401);
    expect((await send(delivery)).statusCode).toBe(200);
  });

  it("refuses a missing or wrong signature with 401 problem+json that challenges for a signature, not a token, and records nothing", async () => {
    const delivery = aliasSet("3");
    const wrongSecret = mlflowDelivery({
      secret: "another-secret",
      event: "model_version_alias.created",
      data: { name: "fraud-gbm", alias: "champion", version: "3" },
      at: NOW,
    });
    const { "x-mlflow-signature": _, ...unsigned } = delivery.headers;
    const cases = [
      { body: delivery.body, headers: unsigned },
      wrongSecret,
      { body: delivery.body, headers: { ...delivery.headers, "x-mlflow-signature": "v1,AAAA" } },
      { body: delivery.body, headers: { ...delivery.headers, "x-mlflow-delivery-id": "another-id" } },
    ];
    for (const attempt of cases) {
      // A bearer token, even an admin's, does not stand in for the signature.
      const res = await send(attempt, t.tokens.admin);
      expect(res.statusCode).toBe(401);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.headers["www-authenticate"]).toBe('MLflow-Signature realm="tenure"');
      expect(res.json()).toMatchObject({ status: 401, type: "https://tenure.dev/problems/unauthenticated" });
    }
    expect(await live()).toEqual([]);
    expect(mlflow.requests).toEqual([]);
  });

  it("refuses a delivery signed more than 5 minutes before or after the server's time, and takes one just inside", async () => {
    const stale = await send(aliasSet("3", NOW - 5 * 60_000 - 1000));
    expect(stale.statusCode).toBe(401);
    expect(stale.json().detail).toMatch(/signed 301 s ago; deliveries more than 300 s away are refused/);
    const ahead = await send(aliasSet("3", NOW + 5 * 60_000 + 1000));
    expect(ahead.statusCode).toBe(401);
    expect(ahead.json().detail).toMatch(/ahead of this server's clock/);
    expect(await live()).toEqual([]);
    const inside = await send(aliasSet("3", NOW - 5 * 60_000 + 1000));
    expect(inside.json().outcome).toBe("recorded");
  });

  it("answers a replayed delivery 200 `duplicate` and changes nothing, even after the alias moved on", async () => {
    const first = aliasSet("3", NOW - 10_000);
    expect((await send(first)).json().outcome).toBe("recorded");
    const model = mlflow.models.get("fraud-gbm");
    if (!model) throw new Error("no model");
    model.aliases = { champion: "2" };
    expect((await send(aliasSet("2", NOW - 5000))).json().outcome).toBe("recorded");
    const asked = mlflow.requests.length;
    const replay = await send(first);
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toMatchObject({ outcome: "duplicate", report: null });
    expect((await live()).map((d) => d.model_version)).toEqual(["2"]);
    expect(mlflow.requests.length).toBe(asked);
  });

  it("forgets delivery ids once their time is past the tolerance: the table stays small, and such a replay is refused for its time", async () => {
    const first = aliasSet("3", NOW - 1000);
    await send(first);
    const receipts = () =>
      t.context.database.db.selectFrom("webhook_receipts").select(["delivery_id"]).execute();
    expect((await receipts()).map((r) => r.delivery_id)).toEqual([first.delivery_id]);
    t.setNow(NOW + 6 * 60_000);
    const later = mlflowDelivery({
      secret: SECRET,
      event: "model_version.created",
      data: {
        name: "fraud-gbm",
        version: "5",
        source: "models:/m-5",
        run_id: null,
        tags: {},
        description: null,
      },
      at: NOW + 6 * 60_000,
    });
    expect((await send(later)).json().outcome).toBe("ignored");
    expect((await receipts()).map((r) => r.delivery_id)).toEqual([later.delivery_id]);
    expect((await send(first)).statusCode).toBe(401);
  });

  it("answers 503 with Retry-After while MLflow does not answer, and takes MLflow's retry of the same delivery once it does", async () => {
    mlflow.setDown(true);
    const delivery = aliasSet("3");
    const down = await send(delivery);
    expect(down.statusCode).toBe(503);
    expect(down.headers["retry-after"]).toBe("1");
    expect(down.json()).toMatchObject({ type: "https://tenure.dev/problems/unavailable" });
    expect(down.json().detail).toMatch(
      /MLflow did not answer \(GET http:\/\/127\.0\.0\.1:\d+\/api\/2\.0\/mlflow\//,
    );
    expect(down.json().detail).not.toContain("mlflow-token-1");
    expect(await live()).toEqual([]);
    mlflow.setDown(false);
    const retried = await send(delivery);
    expect(retried.json().outcome).toBe("recorded");
  });

  it("holds a version that lacks mandatory metadata, naming the tags, and a tag set on it later registers it", async () => {
    await send(aliasSet("3", NOW - 60_000));
    const model = mlflow.models.get("fraud-gbm");
    if (!model?.versions["4"]) throw new Error("no version 4");
    model.aliases = { champion: "4" };
    const held = await send(aliasSet("4"));
    expect(held.statusCode).toBe(200);
    expect(held.json()).toMatchObject({ outcome: "held" });
    expect(held.json().detail).toMatch(/lacks training_data_cutoff \(MLflow tags training_data_cutoff/);
    expect(held.json().report.findings).toEqual([
      expect.objectContaining({
        kind: "missing_metadata",
        model_version: "4",
        missing: ["training_data_cutoff"],
      }),
    ]);
    expect((await live()).map((d) => d.model_version)).toEqual(["3"]);

    // A tag that is not mandatory metadata changes nothing; the missing one completes the version.
    const tag = (key: string, value: string) =>
      mlflowDelivery({
        secret: SECRET,
        event: "model_version_tag.set",
        data: { name: "fraud-gbm", version: "4", key, value },
        at: NOW + 30_000,
      });
    t.setNow(NOW + 30_000);
    expect((await send(tag("validated_by", "ana"))).json().outcome).toBe("ignored");
    model.versions["4"].tags = { training_data_cutoff: "2026-11-20" };
    const completed = await send(tag("training_data_cutoff", "2026-11-20"));
    expect(completed.json()).toMatchObject({ outcome: "recorded" });
    // When the alias moved was not kept: superseding 3, it is dated when it was found, and says so.
    expect(
      (await live()).map((d) => [
        d.model_version,
        d.deployment_date,
        d.tags["tenure.dev/deployment-date-basis"],
      ]),
    ).toEqual([["4", isoTime(NOW + 30_000), "discovered"]]);
  });

  it("acknowledges events it does not act on, and aliases other than the served one, with 200 `ignored`", async () => {
    const deliveries = [
      aliasSet("4", NOW, "challenger"),
      mlflowDelivery({
        secret: SECRET,
        event: "model_version.created",
        data: {
          name: "fraud-gbm",
          version: "5",
          source: "models:/m-5",
          run_id: "abc",
          tags: {},
          description: null,
        },
        at: NOW,
      }),
      mlflowDelivery({
        secret: SECRET,
        event: "registered_model.created",
        data: { name: "churn-lr", tags: {}, description: null },
        at: NOW,
      }),
      mlflowDelivery({
        secret: SECRET,
        event: "prompt_alias.created",
        data: { name: "p", alias: "a", version: "1" },
        at: NOW,
      }),
    ];
    for (const delivery of deliveries) {
      const res = await send(delivery);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ outcome: "ignored", report: null });
    }
    expect(await live()).toEqual([]);
    expect(mlflow.requests).toEqual([]);
  });

  it("changes nothing for a late delivery of a move the alias has since left", async () => {
    const model = mlflow.models.get("fraud-gbm");
    if (!model) throw new Error("no model");
    model.aliases = { champion: "2" };
    const late = await send(aliasSet("3"));
    expect(late.json()).toMatchObject({ outcome: "ignored" });
    expect(late.json().detail).toMatch(/moved on to version 2/);
    expect(await live()).toEqual([]);
  });

  it("keeps the deployment live when the served alias is deleted, and names it in the answer", async () => {
    const recorded = (await send(aliasSet("3", NOW - 60_000))).json();
    const id = recorded.report.registered[0].deployment_id;
    const deleted = mlflowDelivery({
      secret: SECRET,
      event: "model_version_alias.deleted",
      data: { name: "fraud-gbm", alias: "champion" },
      at: NOW,
    });
    const res = await send(deleted);
    expect(res.json()).toMatchObject({ outcome: "ignored" });
    expect(res.json().detail).toContain(`deployment ${id} (version 3) stays live in production`);
    expect((await live()).map((d) => d.id)).toEqual([id]);
  });

  it("refuses a signed body that is not MLflow's envelope with 400, naming the field", async () => {
    const bad = mlflowDelivery({
      secret: SECRET,
      event: "model_version_alias.created",
      data: { name: "fraud-gbm", alias: "champion" },
      at: NOW,
    });
    const res = await send(bad);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors).toEqual([expect.objectContaining({ field: "data.version" })]);
  });
});

describe("POST /v1/hooks/mlflow without a secret", () => {
  it("answers 404 problem+json saying how to turn it on, and never takes a delivery, signed or not", async () => {
    const t = await startTestApp("sqlite", { now: NOW });
    try {
      const delivery = mlflowDelivery({
        secret: SECRET,
        event: "model_version_alias.created",
        data: { name: "fraud-gbm", alias: "champion", version: "3" },
        at: NOW,
      });
      const res = await t.request({
        method: "POST",
        url: "/v1/hooks/mlflow",
        body: delivery.body,
        headers: delivery.headers,
        token: null,
      });
      expect(res.statusCode).toBe(404);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(res.json().detail).toMatch(/--mlflow-webhook-secret or TENURE_MLFLOW_WEBHOOK_SECRET/);
    } finally {
      await t.close();
    }
  });

  it("refuses at start-up a secret without MLflow's URL, and a URL that is not http(s)", () => {
    const settings = { alias: "champion", environment: "production" };
    expect(() => checkMlflowSettings({ ...settings, webhookSecret: "s" })).toThrow(/needs --mlflow-url/);
    expect(() => checkMlflowSettings({ ...settings, url: "mlflow:5000" })).toThrow(/http:\/\/ or https:\/\//);
    expect(() =>
      checkMlflowSettings({ ...settings, webhookSecret: "s", url: "http://mlflow:5000" }),
    ).not.toThrow();
  });
});
