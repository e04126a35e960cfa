import type http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../../src/gateway/gateway.js";
import { type PairSink, ShadowMirror } from "../../src/gateway/shadow-mirror.js";
import type { ShadowPair } from "../../src/gateway/traffic-report.js";
import { send } from "../support/gateway-client.js";
import { json, type Received, startModelServer } from "../support/model-server.js";
import { pollUntil } from "../support/process.js";
import { FixedRoutes, target } from "../support/upstreams.js";

interface Held extends Received {
  res: http.ServerResponse;
}

/** A model server that answers at once (`answer`) or holds each request until the test lets it go. */
async function modelServer(answer?: unknown) {
  const held: Held[] = [];
  const server = await startModelServer((received, res) => {
    if (answer === undefined) held.push({ ...received, res });
    else json(res, 200, answer);
  });
  return { ...server, held };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function setUp(options: { shadowMaxBody?: number; shadowSample?: number } = {}) {
  const primary = await modelServer({ prediction: "fraud" });
  const shadow = await modelServer();
  closers.push(primary.close, shadow.close);
  const pairs: ShadowPair[] = [];
  const sink: PairSink = { addPairs: (batch) => pairs.push(...batch) };
  const mirror = new ShadowMirror({ sink, flushIntervalMs: 10, timeoutMs: 10_000 });
  const routes = new FixedRoutes(
    ["fraud-gbm"],
    [
      target({ deployment_id: 1, endpoint: primary.url }),
      target({ deployment_id: 2, role: "shadow", model_version: "3.3.0", endpoint: `${shadow.url}/v2` }),
    ],
  );
  const gateway: RunningGateway = await startGateway({
    host: "127.0.0.1",
    port: 0,
    routes,
    observers: [mirror],
    shadowMaxBody: options.shadowMaxBody,
    shadowSample: options.shadowSample,
  });
  closers.push(async () => {
    await gateway.close();
    await mirror.close(100);
  });
  return { gateway, shadow, pairs, mirror };
}

describe("the shadow mirror behind the gateway", () => {
  it("the user is answered by the primary while the shadow still holds its copy; the copy has Tenure-Shadow: 1 and the same request id and body", async () => {
    const { gateway, shadow, pairs } = await setUp();
    const answer = await send(`${gateway.url}/fraud-gbm/predict?x=1`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-request-id": "user-1" },
      body: '{"amount":42}',
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body.toString())).toEqual({ prediction: "fraud" });
    expect(answer.headers["tenure-deployment-id"]).toBe("1");

    const [copy] = await pollUntil("the shadow's copy", () =>
      shadow.held.length === 1 ? shadow.held : undefined,
    );
    expect(copy?.url).toBe("/v2/predict?x=1");
    expect(copy?.body).toBe('{"amount":42}');
    expect(copy?.headers["tenure-shadow"]).toBe("1");
    expect(copy?.headers["x-request-id"]).toBe("user-1");
    // A second user request is answered while the first copy is still unanswered.
    const second = await send(`${gateway.url}/fraud-gbm/predict`, { method: "POST", body: "{}" });
    expect(second.status).toBe(200);
    expect(pairs).toHaveLength(0);

    copy?.res.writeHead(200, { "content-type": "application/json" });
    copy?.res.end('{"prediction":"legit"}');
    const pair = await pollUntil("the pair", () => pairs.find((p) => p.request_id === "user-1"));
    expect(pair).toMatchObject({
      primary_id: 1,
      shadow_id: 2,
      primary_prediction: "fraud",
      shadow_prediction: "legit",
      primary_status: 200,
      shadow_status: 200,
    });
    for (const held of shadow.held.slice(1)) held.res.end();
  });

  it("a request over --shadow-max-body, or outside --shadow-sample, is answered and not mirrored", async () => {
    const big = await setUp({ shadowMaxBody: 8 });
    const answer = await send(`${big.gateway.url}/fraud-gbm/p`, { method: "POST", body: "x".repeat(64) });
    expect(answer.status).toBe(200);
    await pollUntil("the skip counted", () => (big.mirror.stats().skipped_oversize === 1 ? true : undefined));
    expect(big.shadow.held).toHaveLength(0);

    const none = await setUp({ shadowSample: 0 });
    expect((await send(`${none.gateway.url}/fraud-gbm/p`, { method: "POST", body: "{}" })).status).toBe(200);
    await pollUntil("the sample counted", () => (none.mirror.stats().sampled_out === 1 ? true : undefined));
    expect(none.shadow.held).toHaveLength(0);
  });
});
