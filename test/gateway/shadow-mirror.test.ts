import { once } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { request } from "undici";
import { afterEach, describe, expect, it } from "vitest";
import type { Exchange, ModelRoutes, RouteTarget } from "../../src/gateway/exchange.js";
import { type PairSink, ShadowMirror } from "../../src/gateway/shadow-mirror.js";
import type { ShadowPair } from "../../src/gateway/traffic-report.js";
import { json, type Received, startModelServer as startUpstream } from "../support/model-server.js";
import { pollUntil } from "../support/process.js";

function target(id: number, role: RouteTarget["role"], endpoint: string): RouteTarget {
  return {
    deployment_id: id,
    model: "fraud-gbm",
    model_version: `v${id}`,
    environment: "production",
    owner_team: "risk",
    role,
    deployment_date: 0,
    training_data_cutoff: 0,
    endpoint,
  };
}

class ArraySink implements PairSink {
  readonly pairs: ShadowPair[] = [];
  readonly batches: number[] = [];
  addPairs(pairs: ShadowPair[]): void {
    this.batches.push(pairs.length);
    this.pairs.push(...pairs);
  }
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/**
 * The user's side, as the gateway does it: forward to the primary, answer the user, then tell
 * the observer. Stands in for the gateway (src/gateway/, helper A's) so the mirror is tested on
 * a real request path.
 */
async function startFront(
  primary: RouteTarget,
  routes: ModelRoutes,
  mirror: ShadowMirror,
  maxBody = 1024 * 1024,
) {
  let sequence = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = (req.url ?? "/").replace(/^\/[^/]+/, "");
    const requestId = (req.headers["x-request-id"] as string | undefined) ?? `gw-${++sequence}`;
    const headers: Record<string, string> = {
      "content-type": String(req.headers["content-type"] ?? "application/json"),
      "x-request-id": requestId,
    };
    const startedAt = Date.now();
    const upstream = await request(`${primary.endpoint}${path}`, { method: "POST", headers, body });
    const answer = Buffer.from(await upstream.body.arrayBuffer());
    res.writeHead(upstream.statusCode, {
      "content-type": "application/json",
      "tenure-request-id": requestId,
    });
    res.end(answer);
    const oversize = body.length > maxBody;
    const exchange: Exchange = {
      request_id: requestId,
      target: primary,
      method: req.method ?? "POST",
      path,
      request_headers: headers,
      request_body: oversize ? null : body,
      request_body_oversize: oversize,
      status: upstream.statusCode,
      outcome: upstream.statusCode >= 500 ? "error" : "ok",
      latency_ms: Date.now() - startedAt,
      upstream_version: undefined,
      response_body: answer,
      started_at: startedAt,
    };
    mirror.answered(exchange, routes);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  closers.push(
    () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/fraud-gbm`;
}

async function postUser(url: string, body: unknown, requestId?: string) {
  const answer = await request(`${url}/predict?x=1`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(requestId ? { "x-request-id": requestId } : {}) },
    body: JSON.stringify(body),
  });
  return { status: answer.statusCode, body: (await answer.body.json()) as Record<string, unknown> };
}

async function setUp(
  shadowAnswer: (received: Received, res: http.ServerResponse) => void,
  options: {
    maxConcurrent?: number;
    maxBody?: number;
    pointer?: string;
    flushIntervalMs?: number;
    timeoutMs?: number;
  } = {},
) {
  const primaryServer = await startUpstream((_received, res) =>
    json(res, 200, { prediction: "fraud", score: 0.91 }),
  );
  const shadowServer = await startUpstream(shadowAnswer);
  closers.push(primaryServer.close, shadowServer.close);
  const primary = target(1, "primary", primaryServer.url);
  const shadow = target(2, "shadow", `${shadowServer.url}/v2/`);
  const routes: ModelRoutes = { model: "fraud-gbm", primary, canary: null, shadows: [shadow] };
  const sink = new ArraySink();
  const errors: unknown[] = [];
  const mirror = new ShadowMirror({
    sink,
    timeoutMs: options.timeoutMs ?? 5000,
    flushIntervalMs: options.flushIntervalMs ?? 10,
    maxConcurrent: options.maxConcurrent,
    predictionPointer: options.pointer,
    onError: (_shadow, _id, error) => errors.push(error),
  });
  closers.push(() => mirror.close());
  const front = await startFront(primary, routes, mirror, options.maxBody);
  return { primaryServer, shadowServer, sink, mirror, front, errors, routes, primary };
}

describe("the shadow mirror", () => {
  it("sends the shadow the same method, path, body and request id with Tenure-Shadow: 1, after the user's answer", async () => {
    const { shadowServer, primaryServer, sink, front } = await setUp((_r, res) =>
      json(res, 200, { prediction: "legit" }),
    );
    const user = await postUser(front, { amount: 120 }, "req-abc");
    expect(user).toEqual({ status: 200, body: { prediction: "fraud", score: 0.91 } });

    await pollUntil("the pair", () => (sink.pairs.length === 1 ? true : undefined));
    const copy = shadowServer.received[0];
    expect(copy?.method).toBe("POST");
    expect(copy?.url).toBe("/v2/predict?x=1");
    expect(copy?.body).toBe(JSON.stringify({ amount: 120 }));
    expect(copy?.headers["tenure-shadow"]).toBe("1");
    expect(copy?.headers["x-request-id"]).toBe("req-abc");
    expect(copy?.headers["content-type"]).toBe("application/json");
    expect(primaryServer.received[0]?.headers["tenure-shadow"]).toBeUndefined();

    const [pair] = sink.pairs;
    expect(pair).toMatchObject({
      request_id: "req-abc",
      primary_id: 1,
      shadow_id: 2,
      primary_prediction: "fraud",
      shadow_prediction: "legit",
      primary_status: 200,
      shadow_status: 200,
    });
    expect(pair?.shadow_latency_ms).toBeGreaterThanOrEqual(0);
  });

  it("a shadow that hangs does not hold up the user: the user is answered while the copy is still unanswered", async () => {
    const held: http.ServerResponse[] = [];
    const { shadowServer, sink, front, mirror } = await setUp((_r, res) => held.push(res));
    const first = await postUser(front, { amount: 1 });
    await pollUntil("the shadow to hold the copy", () => (held.length === 1 ? true : undefined));
    // The shadow still holds the first copy, and a second user request is answered all the same.
    const second = await postUser(front, { amount: 2 });
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(first.body.prediction).toBe("fraud");
    await pollUntil("the second copy", () => (held.length === 2 ? true : undefined));
    expect(mirror.stats().in_flight).toBe(2);
    expect(sink.pairs).toHaveLength(0);
    for (const res of held) json(res, 200, { prediction: "fraud" });
    await pollUntil("both pairs", () => (sink.pairs.length === 2 ? true : undefined));
    expect(shadowServer.received).toHaveLength(2);
  });

  it("answered() returns before the mirrored request is even sent", async () => {
    const { sink, mirror, routes, primary, shadowServer } = await setUp((_r, res) =>
      json(res, 200, { prediction: 3 }),
    );
    const exchange = exchangeFor(primary, "sync-1");
    expect(mirror.answered(exchange, routes)).toBeUndefined();
    // Nothing has reached the shadow yet: answered() only started the copy.
    expect(shadowServer.received).toHaveLength(0);
    expect(mirror.stats().in_flight).toBe(1);
    await mirror.idle();
    mirror.flush();
    expect(sink.pairs[0]?.shadow_prediction).toBe(3);
  });

  it("a shadow that fails or resets gives a pair with status 0 and no prediction, and the user still gets 200", async () => {
    const { sink, front, errors, mirror } = await setUp((_r, res) => res.socket?.destroy());
    const user = await postUser(front, { amount: 5 }, "req-reset");
    expect(user.status).toBe(200);
    await pollUntil("the failed pair", () => (sink.pairs.length === 1 ? true : undefined));
    expect(sink.pairs[0]).toMatchObject({
      request_id: "req-reset",
      shadow_status: 0,
      shadow_prediction: null,
      primary_prediction: "fraud",
    });
    expect(errors.length).toBeGreaterThan(0);
    expect(mirror.stats().failed).toBe(1);
  });

  it("a shadow that sends its headers and then stalls is abandoned at the mirror's timeout: status 0, counted", async () => {
    const { sink, front, mirror } = await setUp(
      (_r, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.write('{"predic');
      },
      { timeoutMs: 300 },
    );
    expect((await postUser(front, {}, "stall")).status).toBe(200);
    await pollUntil("the abandoned pair", () => (sink.pairs.length === 1 ? true : undefined));
    expect(sink.pairs[0]).toMatchObject({ request_id: "stall", shadow_status: 0, shadow_prediction: null });
    expect(mirror.stats()).toMatchObject({ failed: 1, in_flight: 0 });
  });

  it("a shadow's 500 and unreadable answers are paired with its status and a null prediction", async () => {
    let n = 0;
    const { sink, front } = await setUp((_r, res) => {
      n++;
      if (n === 1) json(res, 500, { error: "boom" });
      else {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("not json");
      }
    });
    await postUser(front, {}, "a");
    await postUser(front, {}, "b");
    await pollUntil("two pairs", () => (sink.pairs.length === 2 ? true : undefined));
    const byId = Object.fromEntries(sink.pairs.map((p) => [p.request_id, p]));
    expect(byId.a).toMatchObject({ shadow_status: 500, shadow_prediction: null });
    expect(byId.b).toMatchObject({ shadow_status: 200, shadow_prediction: null });
  });

  it("a request whose body was over --shadow-max-body is not mirrored, and is counted", async () => {
    const { sink, front, shadowServer, mirror } = await setUp(
      (_r, res) => json(res, 200, { prediction: "x" }),
      { maxBody: 16 },
    );
    const user = await postUser(front, { features: "a body longer than sixteen bytes" });
    expect(user.status).toBe(200);
    await mirror.idle();
    mirror.flush();
    expect(mirror.stats().skipped_oversize).toBe(1);
    expect(shadowServer.received).toHaveLength(0);
    expect(sink.pairs).toHaveLength(0);
  });

  it("over the bound of requests in flight, copies are dropped and counted, never queued", async () => {
    const held: http.ServerResponse[] = [];
    const { mirror, routes, primary, sink } = await setUp((_r, res) => held.push(res), { maxConcurrent: 2 });
    for (const id of ["1", "2", "3", "4"]) mirror.answered(exchangeFor(primary, id), routes);
    expect(mirror.stats()).toMatchObject({ mirrored: 2, dropped_busy: 2, in_flight: 2 });
    await pollUntil("two held copies", () => (held.length === 2 ? true : undefined));
    for (const res of held) json(res, 200, { prediction: 1 });
    await mirror.idle();
    mirror.flush();
    expect(sink.pairs.map((p) => p.request_id).sort()).toEqual(["1", "2"]);
  });

  it("reads the prediction by the configured JSON pointer, numbers included", async () => {
    const { sink, mirror, routes, primary } = await setUp(
      (_r, res) => json(res, 200, { outputs: [{ "a/b": 0.25 }] }),
      {
        pointer: "/outputs/0/a~1b",
      },
    );
    mirror.answered(
      { ...exchangeFor(primary, "ptr"), response_body: Buffer.from('{"outputs":[{"a/b":0.5}]}') },
      routes,
    );
    await mirror.idle();
    mirror.flush();
    expect(sink.pairs[0]).toMatchObject({ primary_prediction: 0.5, shadow_prediction: 0.25 });
  });

  it("hands pairs to the sink in batches", async () => {
    const { sink, mirror, routes, primary } = await setUp((_r, res) => json(res, 200, { prediction: true }), {
      flushIntervalMs: 600_000,
    });
    for (const id of ["b1", "b2", "b3"]) mirror.answered(exchangeFor(primary, id), routes);
    await mirror.idle();
    mirror.flush();
    expect(sink.batches).toEqual([3]);
    expect(sink.pairs.every((p) => p.shadow_prediction === true)).toBe(true);
  });
});

function exchangeFor(primary: RouteTarget, requestId: string): Exchange {
  return {
    request_id: requestId,
    target: primary,
    method: "POST",
    path: "/predict",
    request_headers: { "content-type": "application/json", host: "gateway.example", "content-length": "2" },
    request_body: Buffer.from("{}"),
    request_body_oversize: false,
    status: 200,
    outcome: "ok",
    latency_ms: 3,
    upstream_version: undefined,
    response_body: Buffer.from('{"prediction":"fraud"}'),
    started_at: 1_700_000_000_000,
  };
}
