import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { TenureSdk } from "../../src/sdk/tenure-sdk.js";
import type { TenureSdkOptions } from "../../src/sdk/tenure-sdk-options.js";
import { dialects } from "../support/databases.js";
import { freePort, pollUntil } from "../support/process.js";
import { deploymentBody, startScriptedTenure } from "../support/scripted-tenure.js";
import { FRAMEWORKS, listeningTenure, predict, startSdkModelServer } from "../support/sdk-servers.js";
import { registration, startTestApp } from "../support/test-app.js";
import { startUpstream } from "../support/upstreams.js";

const TOKEN = "tnr_outage-test-token";

describe("a model server with the SDK while Tenure is down or slow", () => {
  const cleanups: (() => Promise<void>)[] = [];
  const logged: string[] = [];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => rejections.push(reason);

  beforeAll(() => {
    process.on("unhandledRejection", onRejection);
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
    // Whatever it logged, it never logged the token.
    expect(logged.filter((line) => line.includes(TOKEN))).toEqual([]);
    expect(rejections).toEqual([]);
    logged.length = 0;
  });
  afterAll(() => {
    process.off("unhandledRejection", onRejection);
  });

  const sdkOf = (options: Partial<TenureSdkOptions> & { url: string }) => {
    const sdk = new TenureSdk({
      token: TOKEN,
      deploymentId: 1,
      heartbeatIntervalMs: 20,
      flushIntervalMs: 20,
      timeoutMs: 200,
      retries: 1,
      baseDelayMs: 5,
      logger: { warn: (m) => logged.push(m), info: (m) => logged.push(m) },
      ...options,
    });
    cleanups.push(() => sdk.close({ timeoutMs: 500 }));
    return sdk;
  };

  it.each(FRAMEWORKS)(
    "%s, Tenure's port closed: every request is answered promptly, each buffer stays within its bound, the drops are counted",
    async (framework) => {
      const port = await freePort();
      const sdk = sdkOf({ url: `http://127.0.0.1:${port}`, maxBuffered: 20, batchSize: 5 });
      const server = await startSdkModelServer(framework, sdk, ({ request_id }) => {
        sdk.recordMetric("auc", 0.9);
        sdk.recordSample({ amount: 1 });
        sdk.recordFeedback(request_id, true);
      });
      cleanups.push(server.close);
      const times: number[] = [];
      for (let i = 0; i < 60; i++) {
        const answer = await predict(server.url);
        expect(answer.status).toBe(200);
        times.push(answer.ms);
      }
      expect(Math.max(...times)).toBeLessThan(500);
      await pollUntil("a failed heartbeat", () => (sdk.stats().heartbeats.failed > 0 ? true : undefined));
      const stats = sdk.stats();
      expect(stats.available).toBe(false);
      expect(stats.deployment_id).toBeNull();
      // Metrics and rows wait for the deployment, which cannot be read: the newest 20 are kept.
      expect(stats.metrics).toEqual({ buffered: 20, sent: 0, dropped: 40, rejected: 0 });
      expect(stats.samples).toEqual({ buffered: 20, sent: 0, dropped: 40, rejected: 0 });
      // Feedback keeps trying; a batch in flight is out of the buffer for a moment.
      expect(stats.feedback.buffered).toBeLessThanOrEqual(20);
      expect(stats.feedback.dropped).toBeGreaterThanOrEqual(60 - 20 - 5);
      expect(logged.filter((line) => line.includes("is unavailable"))).toHaveLength(1);
    },
  );

  it("Tenure accepts connections and never answers: requests are answered promptly, and close() keeps to its deadline", async () => {
    const hang = await startUpstream("hang");
    cleanups.push(hang.close);
    const sdk = sdkOf({ url: hang.url, retries: 0 });
    const server = await startSdkModelServer("http", sdk, () => sdk.recordFeedback("r-1", "fraud"));
    cleanups.push(server.close);
    await pollUntil("a request to hang", () => (hang.requests > 0 ? true : undefined));
    for (let i = 0; i < 10; i++) expect((await predict(server.url)).ms).toBeLessThan(500);
    const started = performance.now();
    await sdk.close({ timeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(1_500);
    const { feedback } = sdk.stats();
    expect(feedback.sent).toBe(0);
    expect(feedback.buffered).toBe(0);
    expect(feedback.dropped).toBe(10);
    expect(
      logged.some((line) =>
        line.includes("closed with 0 metric points, 0 feature rows and 10 feedback items unsent"),
      ),
    ).toBe(true);
    // Records after close are dropped, never thrown.
    sdk.recordMetric("auc", 1);
    expect(sdk.stats().metrics.dropped).toBe(1);
  });

  it("a 429 whose Retry-After is longer than the client waits pauses every send until it has passed", async () => {
    const fake = await startScriptedTenure((route) => {
      if (route === "GET /v1/deployments/1") return { status: 200, body: deploymentBody() };
      if (route === "POST /v1/deployments/1/metrics")
        return { status: 200, body: { deployment_id: 1, accepted: 1 } };
      if (route === "POST /v1/deployments/1/heartbeat") {
        return {
          status: 200,
          body: { deployment_id: 1, last_heartbeat_at: new Date().toISOString(), version_mismatch: false },
        };
      }
      return undefined;
    });
    cleanups.push(fake.close);
    fake.script("POST /v1/deployments/1/metrics", [{ status: 429, headers: { "retry-after": "1" } }]);
    const sdk = sdkOf({ url: fake.url, maxDelayMs: 50, heartbeatIntervalMs: 60_000 }).start();
    await pollUntil("the deployment", () => sdk.stats().deployment_id ?? undefined);
    sdk.recordMetric("auc", 0.9);
    await pollUntil("the point accepted", () => (sdk.stats().metrics.sent === 1 ? true : undefined));
    const metrics = fake.arrivals.filter((a) => a.url.endsWith("/metrics"));
    expect(metrics).toHaveLength(2);
    const [refused, accepted] = metrics;
    expect((accepted?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(990);
    // Nothing else was sent to a server that asked for a pause.
    expect(fake.arrivals.filter((a) => a.at > (refused?.at ?? 0) && a.at < (accepted?.at ?? 0))).toEqual([]);
  });

  it("a token Tenure refuses: the records are counted as rejected, said once, and the token is not in what is said", async () => {
    const tenure = await listeningTenure("sqlite");
    cleanups.push(tenure.close);
    const sdk = sdkOf({ url: tenure.url }).start();
    sdk.recordFeedback("r-1", 1);
    await pollUntil("feedback refused", () => (sdk.stats().feedback.rejected === 1 ? true : undefined));
    expect(sdk.stats().available).toBe(true);
    expect(logged.some((line) => line.includes("feedback refused") && line.includes("401"))).toBe(true);
  });
});

describe("a process that uses the SDK", () => {
  it("exits on its own while Tenure is down: no timer or retry holds it open, and no rejection escapes", async () => {
    // The built SDK, as a model server loads it (npm test builds first).
    const entry = resolve(import.meta.dirname, "../../dist/sdk/index.js");
    const port = await freePort();
    const script = `
      process.on("unhandledRejection", () => { console.log("unhandled"); process.exitCode = 3; });
      const { TenureSdk } = await import(${JSON.stringify(entry)});
      const sdk = new TenureSdk({ url: "http://127.0.0.1:${port}", deploymentId: 1, logger: null }).start();
      for (let i = 0; i < 100; i++) { sdk.recordMetric("auc", 0.5); sdk.recordFeedback("r" + i, true); }
      await sdk.flush();
      console.log(JSON.stringify(sdk.stats().feedback));
    `;
    const started = performance.now();
    const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
      timeout: 20_000,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(JSON.parse(stdout)).toMatchObject({ buffered: 100, sent: 0 });
  });
});

describe("a script that awaits the client", () => {
  it("is kept open through the waits between attempts, and gets its answer", async () => {
    const fake = await startScriptedTenure();
    try {
      fake.script("POST /v1/feedback", [{ status: 503 }, { status: 200, body: { accepted: 1 } }]);
      const entry = resolve(import.meta.dirname, "../../dist/sdk/index.js");
      const script = `
        const { TenureClient } = await import(${JSON.stringify(entry)});
        const client = new TenureClient({ url: ${JSON.stringify(fake.url)}, baseDelayMs: 400 });
        console.log(JSON.stringify(await client.feedback([{ request_id: "nightly-1", label: 1 }])));
      `;
      // An unref'd wait, however short, would let the process exit mid-call (exit code 13, no answer).
      const { stdout } = await promisify(execFile)(process.execPath, ["--input-type=module", "-e", script], {
        timeout: 20_000,
      });
      expect(JSON.parse(stdout)).toEqual({ accepted: 1 });
      expect(fake.arrivals).toHaveLength(2);
    } finally {
      await fake.close();
    }
  });
});

describe.each(dialects())("a model server with the SDK when Tenure comes back (%s)", (dialect) => {
  it("sends what it kept, reports what it dropped through the logger and stats(), and Tenure stores the kept points", async () => {
    const t = await startTestApp(dialect);
    const id = (await t.request({ method: "POST", url: "/v1/deployments", body: registration() })).json()
      .id as number;
    const port = await freePort();
    const logged: string[] = [];
    const sdk = new TenureSdk({
      url: `http://127.0.0.1:${port}`,
      token: t.tokens.write,
      deploymentId: id,
      maxBuffered: 10,
      batchSize: 5,
      heartbeatIntervalMs: 30,
      flushIntervalMs: 30,
      timeoutMs: 300,
      retries: 0,
      logger: { warn: (m) => logged.push(m), info: (m) => logged.push(m) },
    }).start();
    try {
      const base = Date.now() - 60_000;
      for (let i = 0; i < 25; i++) {
        sdk.recordMetric("auc", i, { timestamp: base + i });
        sdk.recordFeedback(`back-${i}`, i % 2 === 0);
      }
      await pollUntil("Tenure found unavailable", () => (sdk.stats().available === false ? true : undefined));
      expect(sdk.stats().metrics).toMatchObject({ buffered: 10, dropped: 15 });

      const tenure = await listeningTenure(dialect, { port, app: t });
      await pollUntil("the kept points sent", () => {
        const { metrics, feedback } = sdk.stats();
        return metrics.sent === 10 && feedback.sent + feedback.dropped === 25 ? true : undefined;
      });
      const stats = sdk.stats();
      expect(stats.available).toBe(true);
      expect(stats.metrics).toEqual({ buffered: 0, sent: 10, dropped: 15, rejected: 0 });
      expect(stats.feedback).toMatchObject({ buffered: 0, rejected: 0 });
      expect(logged.filter((line) => line.includes("is unavailable"))).toHaveLength(1);
      expect(logged.some((line) => line.includes("is available again"))).toBe(true);
      // Reported once Tenure answered, in one line or (when a batch in flight failed meanwhile) a few.
      const reported = [0, 0, 0];
      for (const line of logged) {
        const counts =
          /^tenure: dropped (\d+) metric points, (\d+) feature rows and (\d+) feedback items while/.exec(
            line,
          );
        for (let kind = 0; kind < 3; kind++)
          reported[kind] = (reported[kind] ?? 0) + Number(counts?.[kind + 1] ?? 0);
      }
      expect(reported).toEqual([15, 0, stats.feedback.dropped]);

      // The newest ten were kept: values 15 to 24.
      t.setNow(Date.now() + 1_000);
      const timeline = (
        await tenure.t.request({ method: "GET", url: `/v1/deployments/${id}/timeline` })
      ).json();
      const windows = timeline.metrics.find((m: { name: string }) => m.name === "auc")?.windows ?? [];
      const samples = windows.reduce((sum: number, w: { samples: number }) => sum + w.samples, 0);
      const total = windows.reduce(
        (sum: number, w: { samples: number; mean: number }) => sum + w.mean * w.samples,
        0,
      );
      expect(samples).toBe(10);
      expect(total / samples).toBe(19.5);
    } finally {
      await sdk.close();
      await t.close();
    }
  });
});
