import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TenureClient, TenureRequestError } from "../../src/sdk/tenure-client.js";
import { dialects } from "../support/databases.js";
import { deploymentBody, startScriptedTenure } from "../support/scripted-tenure.js";
import { type ListeningTenure, listeningTenure } from "../support/sdk-servers.js";
import { registration } from "../support/test-app.js";
import { startUpstream } from "../support/upstreams.js";

describe.each(dialects())("the SDK's client against a running Tenure (%s)", (dialect) => {
  let tenure: ListeningTenure;
  let client: TenureClient;
  let id: number;

  beforeAll(async () => {
    tenure = await listeningTenure(dialect);
    client = new TenureClient({ url: tenure.url, token: tenure.t.tokens.write });
    const created = await tenure.t.request({ method: "POST", url: "/v1/deployments", body: registration() });
    id = created.json().id;
  });
  afterAll(() => tenure?.close());

  it("reads its deployment by id, and finds it by model and environment", async () => {
    const byId = await client.deployment(id);
    expect(byId).toMatchObject({
      id,
      model: "fraud-gbm",
      model_version: "3.2.0",
      role: "primary",
      status: "active",
    });
    expect(await client.findDeployment({ model: "fraud-gbm", environment: "production" })).toMatchObject({
      id,
    });
    expect(await client.findDeployment({ model: "fraud-gbm", environment: "staging" })).toBeNull();
  });

  it("finds, among live deployments of a role, the one of the version it serves", async () => {
    const shadow = async (version: string) =>
      (
        await tenure.t.request({
          method: "POST",
          url: "/v1/deployments",
          body: registration({ model: "churn", model_version: version, role: "shadow" }),
        })
      ).json().id as number;
    const older = await shadow("1.0.0");
    const newer = await shadow("1.1.0");
    const query = { model: "churn", role: "shadow" as const };
    expect((await client.findDeployment({ ...query, served_version: "1.1.0" }))?.id).toBe(newer);
    expect((await client.findDeployment({ ...query, served_version: "1.0.0" }))?.id).toBe(older);
  });

  it("sends a heartbeat with the served version, and the registry records the mismatch", async () => {
    const result = await client.heartbeat(id, { served_version: "3.1.9" });
    expect(result).toMatchObject({ deployment_id: id, version_mismatch: true });
    const stored = (await tenure.t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
    expect(stored.reported_version).toBe("3.1.9");
    expect((await client.heartbeat(id, { served_version: "3.2.0" })).version_mismatch).toBe(false);
  });

  it("sends metric points, feature rows and feedback, each answered with what was accepted", async () => {
    const at = new Date(Date.now() - 60_000).toISOString();
    expect(await client.metrics(id, [{ name: "auc", value: 0.91, timestamp: at, sample_size: 40 }])).toEqual({
      deployment_id: id,
      accepted: 1,
    });
    expect(
      await client.samples(
        id,
        [
          { amount: 12.5, country: "fr" },
          { amount: 3, country: null },
        ],
        at,
      ),
    ).toMatchObject({
      deployment_id: id,
      accepted: 2,
    });
    expect(await client.feedback([{ request_id: "client-1", label: true }])).toEqual({ accepted: 1 });
  });

  it("throws a refused call at once as TenureRequestError with the status and the fields the server named", async () => {
    const error = await client.metrics(id, [{ name: "not a name", value: 1 }]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenureRequestError);
    const refused = error as TenureRequestError;
    expect(refused.status).toBe(400);
    expect(refused.transient).toBe(false);
    expect(refused.errors.map((e) => e.field).join()).toContain("points");
    expect(refused.message).toContain(`POST /v1/deployments/${id}/metrics`);
    const missing = await client.deployment(999_999).catch((e: unknown) => e);
    expect((missing as TenureRequestError).status).toBe(404);
  });

  it("is refused with a read-only token, and the error does not carry the token", async () => {
    const reader = new TenureClient({ url: tenure.url, token: tenure.t.tokens.read });
    const error = (await reader.heartbeat(id).catch((e: unknown) => e)) as TenureRequestError;
    expect(error.status).toBe(403);
    expect(`${error.message} ${error.stack}`).not.toContain(tenure.t.tokens.read);
  });
});

describe("the SDK's client when Tenure fails", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("retries a 503 with backoff and succeeds when the server recovers", async () => {
    const fake = await startScriptedTenure();
    cleanups.push(fake.close);
    fake.script("POST /v1/feedback", [
      { status: 503 },
      { status: 502 },
      { status: 200, body: { accepted: 1 } },
    ]);
    const client = new TenureClient({ url: fake.url, baseDelayMs: 20 });
    expect(await client.feedback([{ request_id: "r", label: 1 }])).toEqual({ accepted: 1 });
    expect(fake.arrivals).toHaveLength(3);
  });

  it("waits as long as a 429's Retry-After asks before trying again", async () => {
    const fake = await startScriptedTenure();
    cleanups.push(fake.close);
    fake.script("POST /v1/deployments/1/heartbeat", [
      { status: 429, headers: { "retry-after": "1" } },
      {
        status: 200,
        body: { deployment_id: 1, last_heartbeat_at: new Date().toISOString(), version_mismatch: false },
      },
    ]);
    const client = new TenureClient({ url: fake.url, baseDelayMs: 1 });
    await client.heartbeat(1);
    const [first, second] = fake.arrivals;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it("gives a Retry-After longer than it waits back to the caller instead of blocking", async () => {
    const fake = await startScriptedTenure();
    cleanups.push(fake.close);
    fake.script("POST /v1/feedback", [{ status: 503, headers: { "retry-after": "120" } }]);
    const client = new TenureClient({ url: fake.url, maxDelayMs: 1_000 });
    const started = performance.now();
    const error = (await client
      .feedback([{ request_id: "r", label: 1 }])
      .catch((e: unknown) => e)) as TenureRequestError;
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error.status).toBe(503);
    expect(error.retryAfterMs).toBe(120_000);
    expect(fake.arrivals).toHaveLength(1);
  });

  it("times out on a server that never answers, with status 0, after its retries", async () => {
    const hang = await startUpstream("hang");
    cleanups.push(hang.close);
    const client = new TenureClient({ url: hang.url, timeoutMs: 150, retries: 1, baseDelayMs: 1 });
    const started = performance.now();
    const error = (await client.deployment(1).catch((e: unknown) => e)) as TenureRequestError;
    expect(error.status).toBe(0);
    expect(error.transient).toBe(true);
    expect(error.message).toContain("no answer within 150 ms");
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(hang.requests).toBe(2);
  });

  it("names the server without the credentials a URL may hold, and sends the token only as a bearer header", async () => {
    const fake = await startScriptedTenure((route) =>
      route === "GET /v1/deployments/1" ? { status: 200, body: deploymentBody() } : undefined,
    );
    cleanups.push(fake.close);
    const withUser = fake.url.replace("http://", "http://user:hunter2@");
    const client = new TenureClient({ url: withUser, token: "t0ken-secret" });
    expect(client.origin).toBe(fake.url);
    await client.deployment(1);
    expect(fake.arrivals[0]?.authorization).toBe("Bearer t0ken-secret");
    const error = (await client.deployment(2).catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain("hunter2");
    expect(error.message).not.toContain("t0ken-secret");
  });
});
