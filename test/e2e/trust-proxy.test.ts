import { describe, expect, it } from "vitest";
import { expectOneLineFailure, type ServeProcess } from "../support/process.js";
import { serveSandbox } from "../support/serve-sandbox.js";
import { registration } from "../support/test-app.js";

// The flags' wiring in a real process; what the addresses and timeouts do is proved in-process
// on both dialects (test/http/trust-proxy.test.ts, test/http/silent-database.test.ts).
describe.concurrent("tenure serve --trust-proxy and the PostgreSQL timeouts as a process", {
  timeout: 60_000,
}, () => {
  /** Registers a version with X-Forwarded-For: 203.0.113.9, and reads back its audit entry's client_ip. */
  async function forwardedClientIp(server: ServeProcess, token: string, version: string) {
    const auth = { authorization: `Bearer ${token}` };
    const registered = await fetch(`${server.url}/v1/deployments`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json", "x-forwarded-for": "203.0.113.9" },
      body: JSON.stringify(registration({ model_version: version })),
    });
    expect(registered.status, await registered.clone().text()).toBe(201);
    const audit = await fetch(`${server.url}/v1/audit?limit=1`, { headers: auth });
    expect(audit.status).toBe(200);
    const [entry] = ((await audit.json()) as { items: Array<{ client_ip: string }> }).items;
    return entry?.client_ip;
  }

  it("records the forwarded client behind a proxy named by --trust-proxy or TENURE_TRUST_PROXY, and the peer otherwise", async ({
    onTestFinished,
  }) => {
    const { tenure, serve } = await serveSandbox(onTestFinished);
    const created = await tenure(["token", "create", "--scope", "admin"]);
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();

    const flagged = await serve(["--trust-proxy", "127.0.0.1/32,10.0.0.0/8"]);
    expect(await forwardedClientIp(flagged, token, "1.0.0")).toBe("203.0.113.9");
    expect(await flagged.startupLine()).toContain('"trust_proxy":["127.0.0.1/32","10.0.0.0/8"]');
    await flagged.stop();

    const fromEnvironment = await serve([], { TENURE_TRUST_PROXY: "127.0.0.1" });
    expect(await forwardedClientIp(fromEnvironment, token, "1.0.1")).toBe("203.0.113.9");
    await fromEnvironment.stop();

    const byDefault = await serve();
    expect(await forwardedClientIp(byDefault, token, "1.0.2")).toBe("127.0.0.1");
  });

  it("refuses a bad CIDR list or timeout with one line and exit 2, from the flag or the variable", async ({
    onTestFinished,
  }) => {
    const { tenure } = await serveSandbox(onTestFinished);
    expect(expectOneLineFailure(await tenure(["serve", "--trust-proxy", "10.0.0.0/8,proxy"]), 2)).toMatch(
      /--trust-proxy must be a comma-separated list of CIDRs/,
    );
    expect(expectOneLineFailure(await tenure(["serve"], { TENURE_TRUST_PROXY: "10.0.0.0/33" }), 2)).toMatch(
      /TENURE_TRUST_PROXY must be a comma-separated list of CIDRs/,
    );
    expect(expectOneLineFailure(await tenure(["serve", "--pg-query-timeout", "soon"]), 2)).toMatch(
      /--pg-query-timeout must be a duration such as 30s, 500ms or 2m, at most 60m, or off/,
    );
    expect(expectOneLineFailure(await tenure(["serve", "--pg-connect-timeout", "off"]), 2)).toMatch(
      /--pg-connect-timeout must be a duration such as 30s/,
    );
    expect(expectOneLineFailure(await tenure(["serve"], { TENURE_PG_QUERY_TIMEOUT: "30" }), 2)).toMatch(
      /TENURE_PG_QUERY_TIMEOUT must be a duration such as 30s/,
    );
  });
});
