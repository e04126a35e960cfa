import { afterEach, describe, expect, it } from "vitest";
import { RateLimits } from "../../src/http/rate-limit.js";
import { trustedProxies } from "../../src/http/trusted-proxies.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

// In these tests every request's socket peer is 127.0.0.1 (the stand-in for a reverse proxy).
describe.each(dialects())("--trust-proxy on %s", (dialect) => {
  let t: TestApp | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  /** Registers a new version with `forwardedFor` as X-Forwarded-For; the audit entry's client_ip, read back through GET /v1/audit. */
  async function auditedClientIp(app: TestApp, version: string, forwardedFor?: string) {
    const res = await app.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ model_version: version }),
      headers: forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor },
    });
    expect(res.statusCode, res.body).toBe(201);
    const audit = await app.request({ method: "GET", url: "/v1/audit?limit=1" });
    expect(audit.statusCode, audit.body).toBe(200);
    const [entry] = audit.json().items as Array<{ client_ip: string | null; action: string }>;
    expect(entry?.action).toBe("deployment.register");
    return entry?.client_ip;
  }

  it("records, from a trusted proxy, the right-most address of X-Forwarded-For that is not a trusted proxy's", async () => {
    t = await startTestApp(dialect, { trustProxy: ["127.0.0.1/32", "10.0.0.0/8"] });
    expect(await auditedClientIp(t, "1.0.0", "203.0.113.9")).toBe("203.0.113.9");
    // The client wrote 198.51.100.7 itself; the proxy appended the address it saw.
    expect(await auditedClientIp(t, "1.0.1", "198.51.100.7, 203.0.113.9")).toBe("203.0.113.9");
    // Two trusted hops (an ingress behind a load balancer at 10.0.0.5): the walk passes both.
    expect(await auditedClientIp(t, "1.0.2", "198.51.100.7, 203.0.113.9, 10.0.0.5")).toBe("203.0.113.9");
    expect(await auditedClientIp(t, "1.0.3", "2001:db8::7")).toBe("2001:db8::7");
    // A hop that is not an address stops the walk there: nothing left of it is believed.
    expect(await auditedClientIp(t, "1.0.4", "198.51.100.7, unknown")).toBe("unknown");
    // Without the header, the peer.
    expect(await auditedClientIp(t, "1.0.5")).toBe("127.0.0.1");
  });

  it("ignores X-Forwarded-For from a peer that is not a trusted proxy, and by default trusts none", async () => {
    t = await startTestApp(dialect, { trustProxy: ["10.0.0.0/8"] });
    expect(await auditedClientIp(t, "2.0.0", "203.0.113.9")).toBe("127.0.0.1");
    await t.close();
    t = await startTestApp(dialect);
    expect(await auditedClientIp(t, "2.0.1", "203.0.113.9")).toBe("127.0.0.1");
  });

  it("counts requests without a token against the forwarded address behind a trusted proxy, and against the peer otherwise", async () => {
    const limits = () => new RateLimits({ token: null, anonymous: { count: 3, perMs: 60_000 } });
    const health = (app: TestApp, forwardedFor: string) =>
      app
        .request({
          method: "GET",
          url: "/healthz",
          token: null,
          headers: { "x-forwarded-for": forwardedFor },
        })
        .then((res) => res.statusCode);
    t = await startTestApp(dialect, { trustProxy: ["127.0.0.1"], rateLimits: limits() });
    const behindProxy = [];
    for (let i = 0; i < 4; i++) behindProxy.push(await health(t, "203.0.113.9"));
    expect(behindProxy).toEqual([200, 200, 200, 429]);
    // Another client behind the same proxy has a bucket of its own.
    expect(await health(t, "198.51.100.7")).toBe(200);
    // A client that writes a new address left of the proxy's entry is still counted as itself.
    expect(await health(t, "192.0.2.1, 203.0.113.9")).toBe(429);
    await t.close();

    t = await startTestApp(dialect, { rateLimits: limits() });
    const direct = [];
    for (let i = 0; i < 3; i++) direct.push(await health(t, `203.0.113.${i}`));
    expect(direct).toEqual([200, 200, 200]);
    // A made-up X-Forwarded-For from an untrusted peer buys no fresh bucket.
    expect(await health(t, "198.51.100.7")).toBe(429);
  });
});

describe("trusted proxies", () => {
  it("trust the listed CIDRs, IPv4-mapped IPv6 peers of an IPv4 range, and nothing that is not an address", () => {
    const trusted = trustedProxies(["10.0.0.0/8", "fd00::/8"]);
    expect(trusted?.("10.1.2.3")).toBe(true);
    expect(trusted?.("::ffff:10.1.2.3")).toBe(true);
    expect(trusted?.("fd12::1")).toBe(true);
    expect(trusted?.("11.0.0.1")).toBe(false);
    expect(trusted?.("10.1.2.3:8080")).toBe(false);
    expect(trusted?.("unknown")).toBe(false);
    expect(trustedProxies([])).toBeUndefined();
  });
});
