import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TenureSdk } from "../../src/sdk/tenure-sdk.js";
import type { TenureSdkOptions } from "../../src/sdk/tenure-sdk-options.js";
import { dialects } from "../support/databases.js";
import { pollUntil } from "../support/process.js";
import {
  FRAMEWORKS,
  type Framework,
  type ListeningTenure,
  listeningTenure,
  type Prediction,
  predict,
  startSdkModelServer,
  tenureHeaders,
} from "../support/sdk-servers.js";
import { registration } from "../support/test-app.js";

describe.each(dialects())("model servers with the SDK, against a running Tenure (%s)", (dialect) => {
  let tenure: ListeningTenure;
  let deployment: Record<string, string | number>;
  const cleanups: (() => Promise<void>)[] = [];
  const logged: string[] = [];

  beforeAll(async () => {
    tenure = await listeningTenure(dialect);
    const created = await tenure.t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ deployment_date: "2026-11-01T08:30:00Z" }),
    });
    expect(created.statusCode).toBe(201);
    deployment = created.json();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    logged.length = 0;
  });
  afterAll(() => tenure?.close());

  /** An SDK on the test's Tenure with short intervals, closed after the test. */
  const sdkOf = (options: Partial<TenureSdkOptions> = {}) => {
    const sdk = new TenureSdk({
      url: tenure.url,
      token: tenure.t.tokens.write,
      deploymentId: deployment.id as number,
      heartbeatIntervalMs: 60_000,
      flushIntervalMs: 50,
      logger: { warn: (m) => logged.push(m), info: (m) => logged.push(m) },
      ...options,
    });
    cleanups.push(() => sdk.close());
    return sdk;
  };

  const serve = async (framework: Framework, sdk: TenureSdk, onPredict?: (p: Prediction) => void) => {
    const server = await startSdkModelServer(framework, sdk, onPredict);
    cleanups.push(server.close);
    return server;
  };

  const known = (sdk: TenureSdk) =>
    pollUntil("the SDK to find its deployment", () => sdk.stats().deployment_id ?? undefined);

  it.each(FRAMEWORKS)(
    "%s: stamps the deployment's metadata headers, spelled as the gateway spells them, on every answer: 200, 404 and 500",
    async (framework) => {
      const sdk = sdkOf();
      const server = await serve(framework, sdk);
      await known(sdk);
      const answer = await predict(server.url);
      expect(answer.status).toBe(200);
      const stamped = tenureHeaders(answer.headers);
      expect(stamped).toEqual({
        "tenure-model": "fraud-gbm",
        "tenure-model-version": "3.2.0",
        "tenure-deployment-id": String(deployment.id),
        "tenure-deployment-date": "2026-11-01T08:30:00.000Z",
        "tenure-training-data-cutoff": "2026-10-01T00:00:00.000Z",
        "tenure-owner-team": "risk",
        "tenure-deployment-age": expect.stringMatching(/^\d+$/),
      });
      const age = Number(stamped["tenure-deployment-age"]);
      const expected = (Date.now() - Date.parse("2026-11-01T08:30:00Z")) / 1000;
      expect(Math.abs(age - expected)).toBeLessThan(5);
      for (const path of ["/nowhere", "/boom"]) {
        const other = await fetch(`${server.url}${path}`);
        await other.arrayBuffer();
        expect(other.status).toBe(path === "/boom" ? 500 : 404);
        expect(tenureHeaders(other.headers)["tenure-deployment-id"], path).toBe(String(deployment.id));
      }
    },
  );

  it.each(FRAMEWORKS)(
    "%s: sends liveness heartbeats on its interval with the served version, and the registry sees them",
    async (framework) => {
      const sdk = sdkOf({ heartbeatIntervalMs: 100, servedVersion: "3.2.1" });
      const server = await serve(framework, sdk);
      await pollUntil("three heartbeats", () => (sdk.stats().heartbeats.sent >= 3 ? true : undefined));
      const stored = (
        await tenure.t.request({ method: "GET", url: `/v1/deployments/${deployment.id}` })
      ).json();
      expect(stored.last_heartbeat_at).not.toBeNull();
      expect(stored.reported_version).toBe("3.2.1");
      expect(sdk.stats().heartbeats.version_mismatch).toBe(true);
      // The server says what answered: the version it serves, not the one registered.
      expect(tenureHeaders((await predict(server.url)).headers)["tenure-model-version"]).toBe("3.2.1");
      // Set it back for the other tests: the registered version clears the mismatch.
      await sdk.client.heartbeat(deployment.id as number, { served_version: "3.2.0" });
    },
  );

  it.each(FRAMEWORKS)(
    "%s: batches metric points recorded in requests, and Tenure stores them (read back through the API)",
    async (framework) => {
      const requests: string[] = [];
      const counting: typeof fetch = (input, init) => {
        requests.push(`${init?.method} ${String(input)}`);
        return fetch(input, init);
      };
      const name = `latency_${framework}`;
      const sdk = sdkOf({ batchSize: 5, flushIntervalMs: 60_000, fetch: counting });
      // One millisecond apart: the API keys points by timestamp, and a test runs faster than that.
      const base = Date.now() - 60_000;
      const server = await serve(framework, sdk, ({ request_id }) =>
        sdk.recordMetric(name, 20, { sample_size: 2, timestamp: base + Number(request_id.slice(4)) }),
      );
      await known(sdk);
      for (let i = 0; i < 12; i++) expect((await predict(server.url)).status).toBe(200);
      // Two full batches go on size alone; the last two points wait for the interval or close().
      await pollUntil("two batches", () => (sdk.stats().metrics.sent === 10 ? true : undefined));
      expect(sdk.stats().metrics.buffered).toBe(2);
      await sdk.close();
      expect(sdk.stats().metrics).toEqual({ buffered: 0, sent: 12, dropped: 0, rejected: 0 });
      expect(requests.filter((r) => r.includes("/metrics"))).toHaveLength(3);

      tenure.t.setNow(Date.now() + 1_000);
      const timeline = (
        await tenure.t.request({ method: "GET", url: `/v1/deployments/${deployment.id}/timeline` })
      ).json();
      const windows = timeline.metrics.find((m: { name: string }) => m.name === name)?.windows ?? [];
      const samples = windows.reduce((sum: number, w: { samples: number }) => sum + w.samples, 0);
      expect(samples).toBe(24);
      expect(windows.every((w: { mean: number }) => w.mean === 20)).toBe(true);
    },
  );

  it("sends feature rows and feedback recorded in requests, and Tenure stores them", async () => {
    const sdk = sdkOf();
    const server = await serve("express", sdk, ({ body, request_id }) => {
      sdk.recordSample({ amount: Number(body.amount), country: String(body.country) });
      sdk.recordFeedback(request_id, body.amount === 1);
    });
    await known(sdk);
    for (let i = 0; i < 7; i++) await predict(server.url, { amount: i, country: i % 2 ? "fr" : "de" });
    await pollUntil("rows and feedback sent", () => {
      const { samples, feedback } = sdk.stats();
      return samples.sent === 7 && feedback.sent === 7 ? true : undefined;
    });
    const days = await tenure.t.context.stores.drift.samplesBetween(
      [deployment.id as number],
      0,
      Date.now() + 86_400_000,
    );
    const stored = days.get(deployment.id as number) ?? [];
    expect(stored.find((s) => s.feature === "amount")?.seen).toBeGreaterThanOrEqual(7);
    expect(stored.find((s) => s.feature === "country")?.summary).toMatchObject({ kind: "categorical" });
    const labels = await tenure.t.context.database.db
      .selectFrom("feedback")
      .select(["request_id", "label"])
      .where("request_id", "like", "req-%")
      .execute();
    expect(labels.map((l) => l.request_id).sort()).toEqual([
      "req-1",
      "req-2",
      "req-3",
      "req-4",
      "req-5",
      "req-6",
      "req-7",
    ]);
  });

  it("finds its deployment by model and environment, and stamps what it found", async () => {
    const sdk = sdkOf({ deploymentId: undefined, model: "fraud-gbm", environment: "production" });
    const server = await serve("fastify", sdk);
    expect(await known(sdk)).toBe(deployment.id);
    expect(tenureHeaders((await predict(server.url)).headers)["tenure-owner-team"]).toBe("risk");
  });

  it("refuses a bad record on the spot, counts it, says so once, and sends the good ones", async () => {
    const sdk = sdkOf();
    await known(sdk.start());
    sdk.recordMetric("no spaces allowed", 1);
    sdk.recordMetric("auc", Number.NaN);
    sdk.recordMetric("auc", 0.8, { sample_size: 0 });
    sdk.recordMetric("auc", 0.8);
    sdk.recordFeedback("", true);
    sdk.recordSample({ amount: Number.POSITIVE_INFINITY });
    await sdk.flush();
    const stats = sdk.stats();
    expect(stats.metrics).toMatchObject({ sent: 1, rejected: 3 });
    expect(stats.feedback.rejected).toBe(1);
    expect(stats.samples.rejected).toBe(1);
    expect(logged.filter((m) => m.includes("not recorded"))).toHaveLength(3);
  });

  it("Fastify: closing the server closes the SDK, which sends what it holds first", async () => {
    const sdk = sdkOf({ flushIntervalMs: 60_000 });
    await known(sdk.start());
    const { default: Fastify } = await import("fastify");
    const { tenureFastify } = await import("../../src/sdk/fastify.js");
    const app = Fastify();
    await app.register(tenureFastify, { sdk });
    await app.ready();
    sdk.recordMetric("auc", 0.75);
    expect(sdk.stats().metrics.buffered).toBe(1);
    await app.close();
    expect(sdk.stats().metrics).toMatchObject({ buffered: 0, sent: 1 });
  });
});
