import http from "node:http";
import v8 from "node:v8";
import vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Exchange, GatewayObserver } from "../../src/gateway/exchange.js";
import { type RunningGateway, startGateway } from "../../src/gateway/gateway.js";
import { chunks, openSockets, send } from "../support/gateway-client.js";
import { freePort, pollUntil } from "../support/process.js";
import {
  FixedRoutes,
  startGarbageUpstream,
  startUpstream,
  target,
  type Upstream,
} from "../support/upstreams.js";

class Recorder implements GatewayObserver {
  exchanges: Exchange[] = [];
  answered(exchange: Exchange) {
    this.exchanges.push(exchange);
  }
  ghost() {}
  find(id: string) {
    return this.exchanges.find((e) => e.request_id === id);
  }
}

const TIMEOUT_MS = 400;
const MiB = 1024 * 1024;

describe("the gateway in front of upstreams that fail", () => {
  const upstreams: Record<string, Upstream> = {};
  let gateway: RunningGateway;
  const recorder = new Recorder();
  const warnings: string[] = [];

  beforeAll(async () => {
    upstreams.fail = await startUpstream("fail");
    upstreams.hang = await startUpstream("hang");
    upstreams.reset = await startUpstream("reset-mid-body");
    upstreams.stall = await startUpstream("stall-mid-body");
    upstreams.huge = await startUpstream("huge", { huge: 64 * MiB });
    upstreams.count = await startUpstream("count");
    upstreams.garbage = await startGarbageUpstream();
    const refused = `http://127.0.0.1:${await freePort()}`;
    const models = ["fail", "hang", "reset", "stall", "huge", "count", "garbage", "refused"];
    const url = (model: string) => (model === "refused" ? refused : (upstreams[model] as Upstream).url);
    const routes = new FixedRoutes(
      models,
      models.map((model, i) => target({ deployment_id: i + 1, model, endpoint: url(model) })),
    );
    gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      routes,
      observers: [recorder],
      upstreamTimeoutMs: TIMEOUT_MS,
      log: {
        warn: (_fields, message) => warnings.push(message),
        error: (_fields, message) => warnings.push(message),
      },
    });
  });
  afterAll(async () => {
    await gateway.close();
    for (const upstream of Object.values(upstreams)) await upstream.close();
  });

  const problemOf = (body: Buffer) =>
    JSON.parse(body.toString()) as { type: string; status: number; detail: string };

  it("passes an upstream's 500 on, stamped, and counts it as an error", async () => {
    const answer = await send(`${gateway.url}/fail/p`, { headers: { "x-request-id": "f-500" } });
    expect(answer.status).toBe(500);
    expect(answer.body.toString()).toBe('{"error":"model crashed"}');
    expect(answer.headers["tenure-deployment-id"]).toBe("1");
    expect(await pollUntil("exchange", () => recorder.find("f-500"))).toMatchObject({
      status: 500,
      outcome: "error",
    });
  });

  it("answers 502 problem+json, stamped, when the upstream refuses the connection", async () => {
    const answer = await send(`${gateway.url}/refused/p`, { headers: { "x-request-id": "f-refused" } });
    expect(answer.status).toBe(502);
    expect(answer.headers["content-type"]).toBe("application/problem+json");
    expect(answer.headers["tenure-model"]).toBe("refused");
    expect(problemOf(answer.body)).toMatchObject({
      type: "https://tenure.dev/problems/upstream-failed",
      detail: "the model server refused the connection",
    });
    expect(await pollUntil("exchange", () => recorder.find("f-refused"))).toMatchObject({
      status: 502,
      outcome: "error",
    });
    expect(warnings).toContain("the model server refused the connection");
  });

  it("answers 502 when the upstream answers with something that is not HTTP", async () => {
    const answer = await send(`${gateway.url}/garbage/p`);
    expect(answer.status).toBe(502);
    expect(problemOf(answer.body).detail).toBe("the model server answered with something that is not HTTP");
  });

  it("answers 504 when the upstream sends no headers within --upstream-timeout", async () => {
    const started = Date.now();
    const answer = await send(`${gateway.url}/hang/p`, { headers: { "x-request-id": "f-hang" } });
    expect(answer.status).toBe(504);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(answer.headers["tenure-model"]).toBe("hang");
    expect(problemOf(answer.body)).toMatchObject({
      type: "https://tenure.dev/problems/upstream-timeout",
      status: 504,
    });
    expect(await pollUntil("exchange", () => recorder.find("f-hang"))).toMatchObject({
      status: 504,
      outcome: "timeout",
    });
  });

  it("cuts the answer short when the upstream resets mid-body: the client sees an incomplete answer, not a hang", async () => {
    const answer = await send(`${gateway.url}/reset/p`, { headers: { "x-request-id": "f-reset" } });
    expect(answer.status).toBe(200);
    expect(answer.complete).toBe(false);
    expect(answer.bytes).toBeLessThan(1000);
    expect(await pollUntil("exchange", () => recorder.find("f-reset"))).toMatchObject({ outcome: "error" });
  });

  it("cuts the answer short when the upstream stops mid-body for longer than --upstream-timeout", async () => {
    const answer = await send(`${gateway.url}/stall/p`, { headers: { "x-request-id": "f-stall" } });
    expect(answer.complete).toBe(false);
    expect(await pollUntil("exchange", () => recorder.find("f-stall"))).toMatchObject({ outcome: "timeout" });
  });

  it("streams an enormous answer and an enormous request body through without holding them", async () => {
    collectGarbage();
    const before = process.memoryUsage().arrayBuffers;
    const down = await send(`${gateway.url}/huge/p`, { discard: true });
    expect(down).toMatchObject({ status: 200, complete: true, bytes: 64 * MiB });
    const up = await send(`${gateway.url}/count/p`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      bodyStream: chunks(1024, 64 * 1024),
    });
    expect(JSON.parse(up.body.toString())).toEqual({ bytes: 64 * MiB });
    // Both bodies passed through a 64 KiB buffer at a time; neither was kept whole. The chunks
    // are garbage by now, but a loaded machine may not have collected them yet: collect first,
    // so what is measured is what is still held.
    collectGarbage();
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * MiB);
  });

  it("stops the upstream request when the client disconnects mid-request", async () => {
    const hang = upstreams.hang as Upstream;
    await pollUntil("no connection to the hanging upstream", () =>
      hang.connections() === 0 ? true : undefined,
    );
    const requests = hang.requests;
    const req = http.request(`${gateway.url}/hang/p`, { method: "POST", agent: false });
    req.on("error", () => {});
    req.write("part of a body");
    await pollUntil("the upstream to get the request", () => (hang.requests > requests ? true : undefined));
    req.destroy();
    // Well before --upstream-timeout would have ended it.
    await pollUntil(
      "the upstream connection to close",
      () => (hang.connections() === 0 ? true : undefined),
      TIMEOUT_MS,
    );
  });

  it("holds no more sockets than before once a storm of faults and disconnects has passed", async () => {
    await pollUntil("idle", () =>
      Object.values(upstreams).every((u) => u.connections() === 0) ? true : undefined,
    );
    const baseline = openSockets();
    const models = ["fail", "hang", "reset", "stall", "garbage", "refused", "count", "nope"];
    const storm: Promise<unknown>[] = [];
    for (let round = 0; round < 10; round++) {
      for (const model of models) storm.push(send(`${gateway.url}/${model}/p`).catch(() => undefined));
      // A client that gives up mid-request.
      const req = http.request(`${gateway.url}/hang/p`, { method: "POST", agent: false });
      req.on("error", () => {});
      req.write("x");
      setTimeout(() => req.destroy(), 20 + round * 5);
    }
    await Promise.all(storm);
    const count = await pollUntil(
      "the open sockets to return to the baseline",
      () => {
        const now = openSockets();
        return now <= baseline ? now : undefined;
      },
      15_000,
      100,
    );
    console.log(`open sockets: ${baseline} before the storm, ${count} after it`);
    expect((await send(`${gateway.url}/fail/p`)).status).toBe(500);
  });
});

/** A full collection now: V8's `gc`, exposed for this process by flag and fetched from a new context. */
function collectGarbage(): void {
  v8.setFlagsFromString("--expose-gc");
  (vm.runInNewContext("gc") as () => void)();
}
