import { mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LightMyRequestResponse } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clientKey, DEFAULT_CONNECTION_LIMITS, RateLimits, TokenBuckets } from "../../src/http/rate-limit.js";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { generateToken } from "../../src/registry/tokens.js";
import { dialects } from "../support/databases.js";
import { pollUntil } from "../support/process.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

describe("token buckets", () => {
  it("let a full bucket's worth through at once, then one request per refill interval, and say how long to wait", () => {
    let now = 0;
    const buckets = new TokenBuckets({ count: 5, perMs: 1_000 }, () => now);
    for (let i = 0; i < 5; i++) expect(buckets.take("a")).toBe(0);
    expect(buckets.take("a")).toBe(200);
    now = 150;
    expect(buckets.take("a")).toBe(50);
    now = 200;
    expect(buckets.take("a")).toBe(0);
    expect(buckets.take("a")).toBe(200);
    // Another key has a bucket of its own.
    expect(buckets.take("b")).toBe(0);
    // A long pause refills the bucket to its size, no further.
    now = 60_000;
    for (let i = 0; i < 5; i++) expect(buckets.take("a")).toBe(0);
    expect(buckets.take("a")).toBeGreaterThan(0);
  });

  it("stay within their key bound under a flood of new keys, dropping full buckets first", () => {
    let now = 0;
    const buckets = new TokenBuckets({ count: 2, perMs: 1_000 }, () => now, 100);
    buckets.take("busy");
    buckets.take("busy");
    for (let i = 0; i < 1_000; i++) {
      now += 1;
      buckets.take(`flood-${i}`);
      expect(buckets.size).toBeLessThanOrEqual(100);
    }
    now += 10_000;
    for (let i = 0; i < 1_000; i++) buckets.take(`second-${i}`);
    expect(buckets.size).toBeLessThanOrEqual(100);
  });
});

describe("client keys", () => {
  it("count IPv4 addresses (also IPv4-mapped IPv6) one by one, and IPv6 by its /64", () => {
    expect(clientKey("203.0.113.7")).toBe("ip:203.0.113.7");
    expect(clientKey("::ffff:203.0.113.7")).toBe("ip:203.0.113.7");
    expect(clientKey("2001:db8:1:2::1")).toBe(clientKey("2001:db8:1:2:ffff:ffff:ffff:ffff"));
    expect(clientKey("2001:0db8:0001:0002:0:0:0:1")).toBe(clientKey("2001:db8:1:2::1"));
    expect(clientKey("2001:db8:1:2::1")).not.toBe(clientKey("2001:db8:1:3::1"));
    expect(clientKey("::1")).toBe("ip:0:0:0:0::/64");
  });
});

function expectRateLimited(res: LightMyRequestResponse, what: string): number {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(429);
  expect(res.headers["content-type"], what).toMatch(/^application\/problem\+json/);
  expect(res.json(), what).toMatchObject({
    type: "https://tenure.dev/problems/rate-limited",
    title: "Too Many Requests",
    status: 429,
    detail: expect.stringMatching(/retry after \d+ s/),
  });
  const retryAfter = String(res.headers["retry-after"]);
  expect(retryAfter, what).toMatch(/^[1-9]\d*$/);
  return Number(retryAfter);
}

describe.each(dialects())("rate limits on %s", (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(dialect, {
      rateLimits: new RateLimits({
        token: { count: 5, perMs: 1_000 },
        anonymous: { count: 3, perMs: 1_000 },
      }),
    });
  });
  afterEach(async () => {
    await t.close();
  });

  it("answers a burst past a token's limit with 429 problem+json and Retry-After, and the bucket refills", async () => {
    const statuses: number[] = [];
    let limited: LightMyRequestResponse | undefined;
    for (let i = 0; i < 8; i++) {
      const res = await t.request({ method: "GET", url: "/v1/deployments", token: t.tokens.read });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) limited ??= res;
    }
    // Five go through (the bucket's size), and the rest are refused, however fast the machine.
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toContain(429);
    expect(expectRateLimited(limited as LightMyRequestResponse, "burst")).toBe(1);
    expect((limited as LightMyRequestResponse).json().detail).toMatch(/5 requests a second with this token/);
    // A client that waits as told gets in again.
    const again = await pollUntil(
      "the token's bucket to refill",
      async () => {
        const res = await t.request({ method: "GET", url: "/v1/deployments", token: t.tokens.read });
        return res.statusCode === 200 ? res : undefined;
      },
      5_000,
      50,
    );
    expect(again.statusCode).toBe(200);
  });

  it("limits each token on its own: one token over its limit does not slow another", async () => {
    for (let i = 0; i < 8; i++)
      await t.request({ method: "GET", url: "/v1/deployments", token: t.tokens.read });
    expect(
      (await t.request({ method: "GET", url: "/v1/deployments", token: t.tokens.read })).statusCode,
    ).toBe(429);
    expect(
      (await t.request({ method: "GET", url: "/v1/deployments", token: t.tokens.write })).statusCode,
    ).toBe(200);
  });

  it("counts requests without a valid token against their address, and refuses made-up tokens with 429 once over it", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await t.request({ method: "GET", url: "/healthz", token: null })).statusCode);
    }
    expect(statuses).toEqual([200, 200, 200]);
    expectRateLimited(await t.request({ method: "GET", url: "/healthz", token: null }), "health check");
    const madeUp = await t.request({ method: "GET", url: "/v1/deployments", token: generateToken() });
    expectRateLimited(madeUp, "made-up token");
    expect(madeUp.json().detail).toMatch(/from this address without a valid token/);
    expectRateLimited(await t.request({ method: "GET", url: "/no/such/route", token: null }), "404");
    // A valid token from the same address counts against the token, not the address.
    expect(
      (await t.request({ method: "GET", url: "/v1/deployments", token: t.tokens.admin })).statusCode,
    ).toBe(200);
  });

  it("counts a request once: a token's requests leave the address's bucket alone", async () => {
    for (let i = 0; i < 5; i++) {
      expect(
        (await t.request({ method: "GET", url: "/v1/deployments", token: t.tokens.read })).statusCode,
      ).toBe(200);
    }
    for (let i = 0; i < 3; i++) {
      expect((await t.request({ method: "GET", url: "/healthz", token: null })).statusCode).toBe(200);
    }
  });
});

/** Sends `head` over a raw connection and resolves with everything the server sent before it closed. */
function rawExchange(port: number, head: string): Promise<string> {
  return new Promise((done, fail) => {
    const socket = connect(port, "127.0.0.1");
    let received = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.on("error", fail);
    socket.on("close", () => done(received));
    socket.write(head);
  });
}

/** The JSON body of a raw HTTP/1.1 response. */
function bodyOf(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf("\r\n\r\n") + 4));
}

describe("the listening server's limits", () => {
  let dir: string;
  let server: RunningServer | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "tenure-limits-"));
  });
  afterEach(async () => {
    await server?.close();
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (connectionLimits = {}) =>
    startServer({
      databaseUrl: join(dir, "tenure.db"),
      host: "127.0.0.1",
      port: 0,
      publicRead: false,
      logLevel: "silent",
      connectionLimits,
      // The normal requests below come as fast as the server answers: no rate limit is under test here.
      anonymousRate: null,
    });

  it("holds Node's server to the defaults: 16 KiB heads, 10 s for the head, 120 s for the request, 72 s keep-alive", async () => {
    server = await start();
    const node = server.app.server as unknown as Record<string, unknown>;
    expect(node.headersTimeout).toBe(DEFAULT_CONNECTION_LIMITS.headersTimeoutMs);
    expect(node.requestTimeout).toBe(DEFAULT_CONNECTION_LIMITS.requestTimeoutMs);
    expect(node.keepAliveTimeout).toBe(DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs);
    expect(node.maxHeaderSize).toBe(16 * 1024);
    expect(DEFAULT_CONNECTION_LIMITS).toMatchObject({
      maxHeaderBytes: 16_384,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 120_000,
      keepAliveTimeoutMs: 72_000,
    });
  });

  it("refuses a request head over the limit with 431 problem+json and closes the connection; one just under it is served", async () => {
    server = await start();
    const port = Number(new URL(server.url).port);
    const head = (padding: number) =>
      `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${"a".repeat(padding)}\r\nConnection: close\r\n\r\n`;
    const refused = await rawExchange(port, head(20 * 1024));
    expect(refused).toMatch(/^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    expect(refused).toMatch(/\r\nContent-Type: application\/problem\+json\r\n/i);
    expect(bodyOf(refused)).toMatchObject({
      type: "https://tenure.dev/problems/header-too-large",
      status: 431,
      detail: expect.any(String),
    });
    const served = await rawExchange(port, head(15 * 1024));
    expect(served).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  });

  it("cuts off slowloris clients that trickle their headers slower than the head timeout (408), while normal requests proceed", async () => {
    const limits = { headersTimeoutMs: 1_000, requestTimeoutMs: 5_000, checkIntervalMs: 100 };
    server = await start(limits);
    const port = Number(new URL(server.url).port);
    // Each sends one byte of a header every 200 ms: 100 bytes would take 20 s.
    const slow = Array.from({ length: 20 }, () => slowClient(port, "x".repeat(100), 200));
    const normal: number[] = [];
    const ended = Promise.all(slow.map((client) => client.closed));
    let cutOff = false;
    void ended.then(() => {
      cutOff = true;
    });
    while (!cutOff) {
      const response = await fetch(`${server.url}/healthz`);
      normal.push(response.status);
      await response.arrayBuffer();
    }
    const outcomes = await ended;
    for (const outcome of outcomes) {
      expect(outcome.received).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(bodyOf(outcome.received)).toMatchObject({ type: "https://tenure.dev/problems/request-timeout" });
      // Cut off after the head timeout, long before it could have sent its headers.
      expect(outcome.afterMs).toBeGreaterThanOrEqual(limits.headersTimeoutMs - 50);
      expect(outcome.afterMs).toBeLessThan(10_000);
      expect(outcome.bytesSent).toBeLessThan(100);
    }
    expect(normal.length).toBeGreaterThan(0);
    expect(new Set(normal)).toEqual(new Set([200]));
  });
});

interface SlowOutcome {
  received: string;
  afterMs: number;
  bytesSent: number;
}

/** A client that sends a request line, then one header a byte at a time, every `everyMs`. */
function slowClient(port: number, value: string, everyMs: number): { closed: Promise<SlowOutcome> } {
  const started = Date.now();
  const socket: Socket = connect(port, "127.0.0.1");
  let received = "";
  let bytesSent = 0;
  const bytes = `X-Slow: ${value}\r\n\r\n`;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    received += chunk;
  });
  socket.write("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  const timer = setInterval(() => {
    if (bytesSent >= bytes.length || socket.destroyed) return clearInterval(timer);
    socket.write(bytes[bytesSent] ?? "");
    bytesSent++;
  }, everyMs);
  const closed = new Promise<SlowOutcome>((done) => {
    socket.on("error", () => {});
    socket.on("close", () => {
      clearInterval(timer);
      done({ received, afterMs: Date.now() - started, bytesSent });
    });
  });
  return { closed };
}
