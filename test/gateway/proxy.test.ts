import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Exchange, GatewayObserver, ModelRoutes } from "../../src/gateway/exchange.js";
import { type RunningGateway, startGateway } from "../../src/gateway/gateway.js";
import { send } from "../support/gateway-client.js";
import { freePort, pollUntil } from "../support/process.js";
import { type Echo, FixedRoutes, startUpstream, target, type Upstream } from "../support/upstreams.js";

/** Records what the gateway tells its observers. */
class Recorder implements GatewayObserver {
  exchanges: { exchange: Exchange; routes: ModelRoutes }[] = [];
  ghosts: string[] = [];
  answered(exchange: Exchange, routes: ModelRoutes) {
    this.exchanges.push({ exchange, routes });
  }
  ghost(model: string) {
    this.ghosts.push(model);
  }
  last(id: string): Exchange | undefined {
    return this.exchanges.find((e) => e.exchange.request_id === id)?.exchange;
  }
}

describe("the gateway's proxy", () => {
  let echo: Upstream;
  let gateway: RunningGateway;
  let routes: FixedRoutes;
  const recorder = new Recorder();

  beforeAll(async () => {
    echo = await startUpstream("echo", { version: "3.2.0" });
    routes = new FixedRoutes(
      ["fraud-gbm", "churn", "dark"],
      [
        target({ deployment_id: 7, endpoint: `${echo.url}/v1/` }),
        target({ deployment_id: 8, model: "churn", endpoint: `${echo.url}`, model_version: "1.0.0" }),
        target({ deployment_id: 9, model: "dark", role: "shadow", endpoint: echo.url }),
      ],
    );
    gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      routes,
      observers: [recorder],
      upstreamTimeoutMs: 2_000,
    });
  });
  afterAll(async () => {
    await gateway.close();
    await echo.close();
  });

  it("streams method, path, query, headers and body to the live primary's endpoint, and its answer back", async () => {
    const answer = await send(`${gateway.url}/fraud-gbm/predict/batch?x=1&y=%20`, {
      method: "PUT",
      headers: { "content-type": "application/json", "x-client": "yes", authorization: "Bearer abc" },
      body: '{"amount":12}',
    });
    expect(answer.status).toBe(200);
    const echoed = JSON.parse(answer.body.toString()) as Echo;
    expect(echoed).toMatchObject({
      method: "PUT",
      url: "/v1/predict/batch?x=1&y=%20",
      body: '{"amount":12}',
    });
    expect(echoed.headers).toMatchObject({
      "content-type": "application/json",
      "x-client": "yes",
      authorization: "Bearer abc",
      host: new URL(echo.url).host,
      "x-forwarded-for": "127.0.0.1",
      "x-forwarded-host": new URL(gateway.url).host,
      "x-forwarded-proto": "http",
    });
    expect(answer.headers["content-type"]).toBe("application/json");
    expect(answer.headers["x-model-version"]).toBe("3.2.0");
  });

  it("sends a model's root and a bare query to the endpoint itself", async () => {
    const bare = JSON.parse((await send(`${gateway.url}/churn`)).body.toString()) as Echo;
    expect(bare.url).toBe("/");
    const query = JSON.parse((await send(`${gateway.url}/fraud-gbm?a=b`)).body.toString()) as Echo;
    expect(query.url).toBe("/v1?a=b");
  });

  it("stamps every answer with the deployment that gave it, its age and the request id", async () => {
    const answer = await send(`${gateway.url}/fraud-gbm/predict`, { headers: { "x-request-id": "req-42" } });
    expect(answer.headers).toMatchObject({
      "tenure-model": "fraud-gbm",
      "tenure-model-version": "3.2.0",
      "tenure-deployment-id": "7",
      "tenure-deployment-date": "2026-11-01T00:00:00.000Z",
      "tenure-training-data-cutoff": "2026-10-01T00:00:00.000Z",
      "tenure-owner-team": "risk",
      "tenure-request-id": "req-42",
    });
    const age = Number(answer.headers["tenure-deployment-age"]);
    const expected = Math.floor((Date.now() - Date.parse("2026-11-01T00:00:00.000Z")) / 1000);
    expect(age).toBeGreaterThanOrEqual(expected - 2);
    expect(age).toBeLessThanOrEqual(expected);
    expect((JSON.parse(answer.body.toString()) as Echo).headers["x-request-id"]).toBe("req-42");
  });

  it("makes a new request id when the client gives none or one that is not a plain token", async () => {
    const cases: Record<string, string>[] = [
      {},
      { "x-request-id": "has spaces in it" },
      { "x-request-id": "x".repeat(300) },
    ];
    for (const headers of cases) {
      const answer = await send(`${gateway.url}/fraud-gbm/p`, { headers });
      const id = answer.headers["tenure-request-id"] as string;
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect((JSON.parse(answer.body.toString()) as Echo).headers["x-request-id"]).toBe(id);
    }
  });

  it("removes hop-by-hop headers both ways (RFC 9110 §7.6.1), those Connection names included", async () => {
    const answer = await send(`${gateway.url}/fraud-gbm/p`, {
      headers: {
        connection: "keep-alive, x-client-hop",
        "x-client-hop": "drop me",
        "keep-alive": "timeout=5",
        te: "trailers",
        "proxy-authorization": "Basic Zm9vOmJhcg==",
        upgrade: "websocket",
        "x-kept": "1",
      },
    });
    const upstreamSaw = (JSON.parse(answer.body.toString()) as Echo).headers;
    for (const name of ["x-client-hop", "keep-alive", "te", "proxy-authorization", "upgrade"]) {
      expect(upstreamSaw[name], name).toBeUndefined();
    }
    expect(upstreamSaw["x-kept"]).toBe("1");
    expect(answer.headers["x-upstream-hop"]).toBeUndefined();
    // Node's own Keep-Alive for the client's connection, not the upstream's.
    expect(answer.headers["keep-alive"]).not.toBe("timeout=5");
    // The upstream's own Tenure-Model is not passed on: only the gateway says who answered.
    expect(answer.headers["tenure-model"]).toBe("fraud-gbm");
  });

  it("answers an unknown model 404 problem+json and tells the observers of the ghost", async () => {
    const answer = await send(`${gateway.url}/no-such-model/predict`);
    expect(answer.status).toBe(404);
    expect(answer.headers["content-type"]).toBe("application/problem+json");
    expect(JSON.parse(answer.body.toString())).toMatchObject({
      type: "https://tenure.dev/problems/unknown-model",
      status: 404,
      detail: expect.stringContaining("no-such-model"),
    });
    expect(recorder.ghosts).toContain("no-such-model");
    expect((await send(`${gateway.url}/`)).status).toBe(404);
  });

  it("answers 503 with Retry-After for a known model without a live primary", async () => {
    const answer = await send(`${gateway.url}/dark/predict`);
    expect(answer.status).toBe(503);
    expect(answer.headers["retry-after"]).toBe("1");
    expect(JSON.parse(answer.body.toString())).toMatchObject({ status: 503, title: "Service Unavailable" });
  });

  it("tells the observers of each answer after it is sent, without the bodies when the model has no shadow", async () => {
    await send(`${gateway.url}/fraud-gbm/score`, {
      method: "POST",
      headers: { "x-request-id": "obs-1" },
      body: "{}",
    });
    const exchange = await pollUntil("the exchange", () => recorder.last("obs-1"));
    expect(exchange).toMatchObject({
      request_id: "obs-1",
      method: "POST",
      path: "/score",
      status: 200,
      outcome: "ok",
      upstream_version: "3.2.0",
      request_body: null,
      response_body: null,
      request_body_oversize: false,
      target: { deployment_id: 7, model: "fraud-gbm" },
    });
    expect(exchange.latency_ms).toBeGreaterThan(0);
    expect(exchange.request_headers["x-request-id"]).toBe("obs-1");
  });

  it("serves its own health: the routes it holds and whether the registry is there", async () => {
    const answer = await send(`${gateway.url}/healthz`);
    expect(JSON.parse(answer.body.toString())).toEqual({
      status: "ok",
      environment: "production",
      routes: 2,
      route_version: routes.table.version,
      registry: "connected",
      lost_since: null,
    });
  });
});

describe("the gateway's shadow copies", () => {
  it("keeps both bodies when the model has a shadow, and none of a request over --shadow-max-body", async () => {
    const echo = await startUpstream("echo");
    const recorder = new Recorder();
    const routes = new FixedRoutes(
      ["fraud-gbm"],
      [
        target({ deployment_id: 1, endpoint: echo.url }),
        target({ deployment_id: 2, role: "shadow", model_version: "3.3.0", endpoint: echo.url }),
      ],
    );
    const gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      routes,
      observers: [recorder],
      shadowMaxBody: 1024,
    });
    try {
      await send(`${gateway.url}/fraud-gbm/p`, {
        method: "POST",
        headers: { "x-request-id": "small" },
        body: '{"a":1}',
      });
      await send(`${gateway.url}/fraud-gbm/p`, {
        method: "POST",
        headers: { "x-request-id": "large" },
        body: "x".repeat(4096),
      });
      const small = await pollUntil("small", () => recorder.last("small"));
      expect(small.request_body?.toString()).toBe('{"a":1}');
      expect(JSON.parse(small.response_body?.toString() ?? "{}")).toMatchObject({ body: '{"a":1}' });
      const routesSeen = recorder.exchanges.find((e) => e.exchange.request_id === "small")?.routes;
      expect(routesSeen?.shadows.map((s) => s.deployment_id)).toEqual([2]);
      const large = await pollUntil("large", () => recorder.last("large"));
      expect(large).toMatchObject({ request_body: null, request_body_oversize: true, status: 200 });
    } finally {
      await gateway.close();
      await echo.close();
    }
  });

  it("keeps no copy of a request outside --shadow-sample", async () => {
    const echo = await startUpstream("echo");
    const recorder = new Recorder();
    const routes = new FixedRoutes(
      ["fraud-gbm"],
      [
        target({ deployment_id: 1, endpoint: echo.url }),
        target({ deployment_id: 2, role: "shadow", endpoint: echo.url }),
      ],
    );
    const gateway = await startGateway({
      host: "127.0.0.1",
      port: 0,
      routes,
      observers: [recorder],
      shadowSample: 0,
    });
    try {
      await send(`${gateway.url}/fraud-gbm/p`, {
        method: "POST",
        headers: { "x-request-id": "s0" },
        body: "{}",
      });
      expect(await pollUntil("s0", () => recorder.last("s0"))).toMatchObject({
        request_body: null,
        response_body: null,
      });
    } finally {
      await gateway.close();
      await echo.close();
    }
  });
});

describe("the gateway's canary split", () => {
  it("sends the canary its share, at random without a sticky header and by the header's value with one", async () => {
    const primary = await startUpstream("echo", { name: "primary" });
    const canary = await startUpstream("echo", { name: "canary" });
    const routes = new FixedRoutes(
      ["fraud-gbm"],
      [
        target({ deployment_id: 1, endpoint: primary.url }),
        target({
          deployment_id: 2,
          role: "canary",
          model_version: "4.0.0",
          endpoint: canary.url,
          traffic_weight: 30,
        }),
      ],
    );
    const gateway = await startGateway({ host: "127.0.0.1", port: 0, routes });
    try {
      const seen = { "1": 0, "2": 0 };
      for (let i = 0; i < 200; i++) {
        const answer = await send(`${gateway.url}/fraud-gbm/p`);
        const id = answer.headers["tenure-deployment-id"] as "1" | "2";
        // The answer is stamped with whoever gave it.
        expect((JSON.parse(answer.body.toString()) as Echo).name).toBe(id === "1" ? "primary" : "canary");
        seen[id]++;
      }
      // 30% of 200: the chance of fewer than 30 or more than 90 is below one in a million.
      expect(seen["2"]).toBeGreaterThan(30);
      expect(seen["2"]).toBeLessThan(90);

      routes.set(
        ["fraud-gbm"],
        [
          target({ deployment_id: 1, endpoint: primary.url }),
          target({
            deployment_id: 2,
            role: "canary",
            endpoint: canary.url,
            traffic_weight: 50,
            sticky_header: "X-User",
          }),
        ],
      );
      const sides = new Set<string>();
      for (let user = 0; user < 40; user++) {
        const first = await send(`${gateway.url}/fraud-gbm/p`, { headers: { "x-user": `user-${user}` } });
        for (let again = 0; again < 3; again++) {
          const next = await send(`${gateway.url}/fraud-gbm/p`, { headers: { "x-user": `user-${user}` } });
          expect(next.headers["tenure-deployment-id"]).toBe(first.headers["tenure-deployment-id"]);
        }
        sides.add(first.headers["tenure-deployment-id"] as string);
      }
      expect([...sides].sort()).toEqual(["1", "2"]);

      routes.set(
        ["fraud-gbm"],
        [
          target({ deployment_id: 1, endpoint: primary.url }),
          target({ deployment_id: 2, role: "canary", endpoint: canary.url, traffic_weight: 0 }),
        ],
      );
      for (let i = 0; i < 20; i++) {
        expect((await send(`${gateway.url}/fraud-gbm/p`)).headers["tenure-deployment-id"]).toBe("1");
      }
    } finally {
      await gateway.close();
      await primary.close();
      await canary.close();
    }
  });
});

describe("the gateway's answer to a bad request line", () => {
  it("answers 400 to bytes that are not HTTP and keeps serving", async () => {
    const routes = new FixedRoutes([], []);
    const gateway = await startGateway({ host: "127.0.0.1", port: await freePort(), routes });
    try {
      const { port } = new URL(gateway.url);
      const reply = await new Promise<string>((resolve) => {
        const socket = connect(Number(port), "127.0.0.1", () => socket.write("NONSENSE\r\n\r\n"));
        let text = "";
        socket.on("data", (chunk: Buffer) => {
          text += chunk.toString();
        });
        socket.on("close", () => resolve(text));
      });
      expect(reply).toMatch(/^HTTP\/1\.1 400/);
      expect((await send(`${gateway.url}/healthz`)).status).toBe(200);
    } finally {
      await gateway.close();
    }
  });
});
