import { describe, expect, it } from "vitest";
import {
  expectOneLineFailure,
  pollUntil,
  runTenure,
  type ServeProcess,
  tempDir,
} from "../support/process.js";
import { serveSandbox } from "../support/serve-sandbox.js";

// The limits hold no state in the database, so SQLite alone shows the process's wiring.
describe.concurrent("tenure serve --rate-limit as a process", { timeout: 60_000 }, () => {
  it("answers a token's burst past --rate-limit with 429, Retry-After and problem+json, then serves it again", async ({
    onTestFinished,
  }) => {
    const { tenure, serve } = await serveSandbox(onTestFinished);
    const created = await tenure(["token", "create", "--scope", "read"]);
    expect(created.code, created.stderr).toBe(0);
    const server = await serve(["--rate-limit", "5/s"]);
    const auth = { authorization: `Bearer ${created.stdout.trim()}` };
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${server.url}/v1/deployments`, { headers: auth })),
    );
    const statuses = responses.map((r) => r.status);
    // At most the bucket's five and what refilled while the twenty were in flight.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5);
    const limited = responses.find((r) => r.status === 429);
    expect(limited, statuses.join(",")).toBeDefined();
    expect(limited?.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
    expect(limited?.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(await limited?.json()).toMatchObject({
      type: "https://tenure.dev/problems/rate-limited",
      status: 429,
    });
    await Promise.all(responses.map((r) => (r.bodyUsed ? undefined : r.arrayBuffer())));
    await pollUntil(
      "the bucket to refill",
      async () =>
        (await fetch(`${server.url}/v1/deployments`, { headers: auth })).status === 200 ? true : undefined,
      5_000,
      100,
    );
    // The start-up line says which limits are in force.
    expect(await server.startupLine()).toMatch(/"rate_limit":"5\/s","anonymous_rate_limit":"1000\/s"/);
  });

  it("serves with the defaults, TENURE_RATE_LIMIT and off, as its start-up line says", async ({
    onTestFinished,
  }) => {
    const { serve } = await serveSandbox(onTestFinished);
    const defaults = await serve();
    expect(await defaults.startupLine()).toMatch(/"rate_limit":"10000\/s","anonymous_rate_limit":"1000\/s"/);
    const fromEnvironment = await serve([], {
      TENURE_RATE_LIMIT: "3000/m",
      TENURE_ANONYMOUS_RATE_LIMIT: "off",
    });
    expect(await fromEnvironment.startupLine()).toMatch(
      /"rate_limit":"3000\/m","anonymous_rate_limit":"off"/,
    );
    // The flag wins over the variable.
    const flagged = await serve(["--rate-limit", "off"], { TENURE_RATE_LIMIT: "3000/m" });
    expect(await flagged.startupLine()).toMatch(/"rate_limit":"off"/);
  });

  it("--rate-limit off and --anonymous-rate-limit off each lift the limit its variable sets: a burst meets no 429", async ({
    onTestFinished,
  }) => {
    const { tenure, serve } = await serveSandbox(onTestFinished);
    const created = await tenure(["token", "create", "--scope", "read"]);
    expect(created.code, created.stderr).toBe(0);
    const auth = { authorization: `Bearer ${created.stdout.trim()}` };
    const env = { TENURE_RATE_LIMIT: "5/s", TENURE_ANONYMOUS_RATE_LIMIT: "5/s" };
    /** The statuses of a burst of `count` requests, with the token and without one. */
    const burst = async (server: ServeProcess, count: number) => {
      const statuses = async (path: string, headers: Record<string, string>) =>
        Promise.all(
          Array.from({ length: count }, async () => {
            const response = await fetch(`${server.url}${path}`, { headers });
            await response.arrayBuffer();
            return response.status;
          }),
        );
      return { token: await statuses("/v1/deployments", auth), anonymous: await statuses("/healthz", {}) };
    };
    // Each server lifts one limit by its flag and keeps the other's variable, which holds its
    // burst to about five: the variables are in force, and `off` wins over them.
    const tokenLifted = await serve(["--rate-limit", "off"], env);
    expect(await tokenLifted.startupLine()).toMatch(/"rate_limit":"off","anonymous_rate_limit":"5\/s"/);
    const first = await burst(tokenLifted, 60);
    expect(new Set(first.token)).toEqual(new Set([200]));
    expect(first.anonymous).toContain(429);
    const anonymousLifted = await serve(["--anonymous-rate-limit", "off"], env);
    expect(await anonymousLifted.startupLine()).toMatch(/"rate_limit":"5\/s","anonymous_rate_limit":"off"/);
    const second = await burst(anonymousLifted, 60);
    expect(second.token).toContain(429);
    expect(new Set(second.anonymous)).toEqual(new Set([200]));
  });

  it.each([
    [["--rate-limit", "fast"], {}, /--rate-limit must be a rate such as 50\/s, 3000\/m or 100000\/h, or off/],
    [["--rate-limit", "0/s"], {}, /--rate-limit must be a rate such as 50\/s/],
    [["--rate-limit", ""], {}, /--rate-limit must be a rate such as 50\/s/],
    [["--anonymous-rate-limit", "none"], {}, /--anonymous-rate-limit must be a rate such as 50\/s/],
    [[], { TENURE_RATE_LIMIT: "50/d" }, /TENURE_RATE_LIMIT must be a rate such as 50\/s/],
    [[], { TENURE_ANONYMOUS_RATE_LIMIT: "none" }, /TENURE_ANONYMOUS_RATE_LIMIT must be a rate such as 50\/s/],
  ])(
    "refuses a rate that is not N/s, N/m, N/h or off (%j %j) with one line and exit 2",
    async (args, env, message) => {
      const cwd = tempDir();
      try {
        const refused = await runTenure(["serve", ...args], { cwd: cwd.path, env });
        expect(expectOneLineFailure(refused, 2)).toMatch(message);
      } finally {
        cwd.remove();
      }
    },
  );
});
