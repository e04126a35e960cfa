import { describe, expect, it } from "vitest";
import { expectOneLineFailure, pollUntil } from "../support/process.js";
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

  it("refuses a rate that is not N/s, N/m or N/h with one line and exit 2, from the flag or the variable", async ({
    onTestFinished,
  }) => {
    const { tenure } = await serveSandbox(onTestFinished);
    const flag = await tenure(["serve", "--rate-limit", "fast"]);
    expect(expectOneLineFailure(flag, 2)).toMatch(/--rate-limit must be a rate such as 50\/s/);
    const variable = await tenure(["serve"], { TENURE_RATE_LIMIT: "50/d" });
    expect(expectOneLineFailure(variable, 2)).toMatch(/TENURE_RATE_LIMIT must be a rate such as 50\/s/);
  });
});
