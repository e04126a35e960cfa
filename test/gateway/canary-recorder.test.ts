import { afterEach, describe, expect, it } from "vitest";
import { CanaryRecorder } from "../../src/gateway/canary-recorder.js";
import { type RunningGateway, startGateway } from "../../src/gateway/gateway.js";
import { TrafficMeter, type TrafficSink } from "../../src/gateway/traffic-meter.js";
import { CanaryPrediction, TrafficReport } from "../../src/gateway/traffic-report.js";
import { answered, routeTarget } from "../support/exchanges.js";
import { send } from "../support/gateway-client.js";
import { json, startModelServer } from "../support/model-server.js";
import { pollUntil } from "../support/process.js";
import { FixedRoutes, target } from "../support/upstreams.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp(options: { weight?: number; canary?: boolean; keep?: boolean; maxBody?: number } = {}) {
  const primary = await startModelServer((_r, res) =>
    json(res, 200, { prediction: "fraud", pad: "x".repeat(10) }),
  );
  const canary = await startModelServer((received, res) =>
    received.body === "big"
      ? json(res, 200, { prediction: "legit", pad: "x".repeat(4096) })
      : json(res, 200, { prediction: "legit" }),
  );
  closers.push(primary.close, canary.close);
  const predictions: CanaryPrediction[] = [];
  const recorder = new CanaryRecorder({ sink: { addPredictions: (batch) => predictions.push(...batch) } });
  const targets = [target({ deployment_id: 1, endpoint: primary.url })];
  if (options.canary !== false) {
    targets.push(
      target({
        deployment_id: 2,
        role: "canary",
        model_version: "3.3.0",
        endpoint: canary.url,
        traffic_weight: options.weight ?? 50,
        sticky_header: "x-user",
      }),
    );
  }
  const seen: (Buffer | null)[] = [];
  const gateway: RunningGateway = await startGateway({
    host: "127.0.0.1",
    port: 0,
    routes: new FixedRoutes(["fraud-gbm"], targets),
    keepCanaryAnswers: options.keep ?? true,
    shadowMaxBody: options.maxBody,
    observers: [recorder, { answered: (e) => seen.push(e.response_body), ghost: () => {} }],
  });
  closers.push(() => gateway.close());
  return { gateway, predictions, recorder, seen };
}

const ask = (url: string, user: string, requestId: string, body = "{}") =>
  send(`${url}/fraud-gbm/predict`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-user": user, "x-request-id": requestId },
    body,
  });

describe("the canary's predictions at the gateway", () => {
  it("records each side's prediction by request id and deployment, the users' answers untouched", async () => {
    const { gateway, predictions } = await setUp();
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await ask(gateway.url, `user-${i}`, `r-${i}`));
    await pollUntil("30 predictions", async () => (predictions.length === 30 ? true : undefined));
    const byRequest = new Map(predictions.map((p) => [p.request_id, p]));
    const sides = new Set<number>();
    answers.forEach((answer, i) => {
      const deployment = Number(answer.headers["tenure-deployment-id"]);
      sides.add(deployment);
      const body = JSON.parse(answer.body.toString()) as { prediction: string };
      expect(byRequest.get(`r-${i}`)).toMatchObject({
        deployment_id: deployment,
        prediction: body.prediction,
      });
      expect(body.prediction).toBe(deployment === 1 ? "fraud" : "legit");
    });
    // Sticky by user, split about evenly: both sides answered some.
    expect([...sides].sort()).toEqual([1, 2]);
    expect(predictions.every((p) => CanaryPrediction.safeParse(p).success)).toBe(true);
  });

  it("an answer over the body bound is answered whole and recorded with no prediction", async () => {
    const { gateway, predictions } = await setUp({ weight: 100, maxBody: 1024 });
    const answer = await ask(gateway.url, "u", "big-1", "big");
    expect(answer.status).toBe(200);
    expect(answer.body.length).toBeGreaterThan(4096);
    await pollUntil("one prediction", async () => (predictions.length === 1 ? true : undefined));
    expect(predictions[0]).toMatchObject({ request_id: "big-1", deployment_id: 2, prediction: null });
  });

  it("keeps no copy of the answers and records nothing without a canary or with a canary at weight 0", async () => {
    for (const options of [{ canary: false }, { weight: 0 }]) {
      const { gateway, predictions, seen } = await setUp(options);
      for (let i = 0; i < 5; i++) expect((await ask(gateway.url, `u${i}`, `q-${i}`)).status).toBe(200);
      await pollUntil("five answers seen", async () => (seen.length === 5 ? true : undefined));
      expect(predictions, JSON.stringify(options)).toEqual([]);
      expect(seen).toEqual([null, null, null, null, null]);
    }
  });

  it("keeps no copy of the answers of a model with a canary unless told to (no recorder listens)", async () => {
    const { gateway, seen } = await setUp({ keep: false });
    for (let i = 0; i < 3; i++) expect((await ask(gateway.url, `u${i}`, `k-${i}`)).status).toBe(200);
    await pollUntil("three answers seen", async () => (seen.length === 3 ? true : undefined));
    expect(seen).toEqual([null, null, null]);
  });
});

/** A sink that keeps what it was sent, failing while `failing` is set. */
class RecordingSink implements TrafficSink {
  reports: TrafficReport[] = [];
  failing = false;
  async send(report: TrafficReport): Promise<void> {
    if (this.failing) throw new Error("registry away");
    this.reports.push(TrafficReport.parse(report));
  }
}

describe("the canary's predictions in the traffic meter", () => {
  const prediction = (i: number): CanaryPrediction => ({
    request_id: `r${i}`,
    deployment_id: 1,
    at: 1000,
    prediction: i,
  });

  function meter(sink: TrafficSink, limits: { held?: number; perReport?: number } = {}) {
    const m = new TrafficMeter({
      sink,
      gateway: "gw-1",
      environment: "production",
      flushIntervalMs: 3_600_000,
      maxPredictions: limits.held,
      maxPredictionsPerReport: limits.perReport,
      clock: () => 5000,
    });
    closers.push(() => m.close());
    return m;
  }

  it("ride in the next report, a bounded number a report, and a report that failed sends them again", async () => {
    const sink = new RecordingSink();
    const m = meter(sink, { perReport: 3 });
    const recorder = new CanaryRecorder({ sink: m });
    const routes = {
      model: "fraud-gbm",
      primary: routeTarget(1),
      canary: { target: { ...routeTarget(2), role: "canary" as const }, weight: 10, sticky_header: null },
      shadows: [],
    };
    for (let i = 0; i < 4; i++) {
      m.answered(answered(routeTarget(1), { request_id: `a${i}` }), routes);
      recorder.answered(
        answered(routeTarget(1), { request_id: `a${i}`, response_body: Buffer.from(`{"prediction":${i}}`) }),
        routes,
      );
    }
    sink.failing = true;
    await m.flush();
    sink.failing = false;
    await m.flush();
    await m.flush();
    expect(sink.reports.map((r) => r.predictions.map((p) => p.request_id))).toEqual([
      ["a0", "a1", "a2"],
      ["a3"],
    ]);
    expect(sink.reports[0]?.predictions[2]).toMatchObject({ deployment_id: 1, prediction: 2, at: 1000 });
  });

  it("held between reports are capped, the oldest dropped first", async () => {
    const sink = new RecordingSink();
    const m = meter(sink, { held: 5, perReport: 100 });
    m.addPredictions(Array.from({ length: 8 }, (_, i) => prediction(i)));
    await m.flush();
    expect(sink.reports[0]?.predictions.map((p) => p.request_id)).toEqual(["r3", "r4", "r5", "r6", "r7"]);
  });
});
