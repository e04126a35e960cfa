import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { type GatewayProcess, startGatewayProcess } from "../support/gateway-process.js";
import { expectOneLineFailure, pollUntil, runTenure, tempDir } from "../support/process.js";

describe("tenure gateway's PostgreSQL timeouts, from --pg-connect-timeout and --pg-query-timeout", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it.each([
    [
      ["--pg-connect-timeout", "off"],
      /--pg-connect-timeout must be a duration such as 30s, 500ms or 2m, at most 60m \(see --help\)$/,
    ],
    [["--pg-connect-timeout", "2h"], /--pg-connect-timeout must be a duration such as 30s/],
    [
      ["--pg-query-timeout", "soon"],
      /--pg-query-timeout must be a duration such as 30s, 500ms or 2m, at most 60m, or off \(see --help\)$/,
    ],
    [
      ["--registry", "http://127.0.0.1:1", "--token", "t", "--pg-query-timeout", "1s"],
      /--pg-query-timeout cannot be used with --registry/,
    ],
    // `off` from the flag reaches the check as commander's "", which is still a value given.
    [
      ["--registry", "http://127.0.0.1:1", "--token", "t", "--pg-query-timeout", "off"],
      /--pg-query-timeout cannot be used with --registry/,
    ],
  ])("%j: one line, exit 2", async (args, message) => {
    const result = await runTenure(["gateway", ...args], { cwd: dir.path });
    expect(expectOneLineFailure(result, 2)).toMatch(message);
  });

  it.each([
    [
      { TENURE_PG_CONNECT_TIMEOUT: "off" },
      /TENURE_PG_CONNECT_TIMEOUT must be a duration such as 30s, 500ms or 2m, at most 60m$/,
    ],
    [
      { TENURE_PG_QUERY_TIMEOUT: "none" },
      /TENURE_PG_QUERY_TIMEOUT must be a duration such as 30s, 500ms or 2m, at most 60m, or off$/,
    ],
  ])("%j: one line, exit 2", async (env, message) => {
    const result = await runTenure(["gateway", "--database", "absent.db"], { cwd: dir.path, env });
    expect(expectOneLineFailure(result, 2)).toMatch(message);
  });
});

describe.each(dialects().filter((d) => d === "postgres"))("tenure gateway on %s", (dialect) => {
  const dir = tempDir();
  let database: TestDatabase;
  let gateway: GatewayProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    const init = await runTenure(["init", "--database", database.url], { cwd: dir.path });
    expect(init.code, init.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await database?.drop();
    dir.remove();
  });

  /** The start-up line's figures: the timeouts the gateway's pool and route listener use. */
  const startedWith = async (args: string[], env: Record<string, string> = {}) => {
    gateway = await startGatewayProcess({ cwd: dir.path, args: ["--database", database.url, ...args], env });
    const started = gateway;
    const line = await pollUntil("the start-up line", () =>
      started
        .stdout()
        .split("\n")
        .find((l) => l.includes('"tenure gateway is serving"')),
    );
    await gateway.stop();
    gateway = undefined;
    const { pg_connect_timeout_ms, pg_query_timeout_ms } = JSON.parse(line);
    return { pg_connect_timeout_ms, pg_query_timeout_ms };
  };

  it("a flag wins over its variable, and a variable over the default", async () => {
    const env = { TENURE_PG_CONNECT_TIMEOUT: "1s", TENURE_PG_QUERY_TIMEOUT: "10s" };
    expect(await startedWith(["--pg-connect-timeout", "2500ms", "--pg-query-timeout", "off"], env)).toEqual({
      pg_connect_timeout_ms: 2500,
      pg_query_timeout_ms: null,
    });
    expect(await startedWith(["--pg-query-timeout", "2m"], env)).toEqual({
      pg_connect_timeout_ms: 1000,
      pg_query_timeout_ms: 120_000,
    });
    expect(await startedWith([], { TENURE_PG_QUERY_TIMEOUT: "off" })).toEqual({
      pg_connect_timeout_ms: 5000,
      pg_query_timeout_ms: null,
    });
    expect(await startedWith([])).toEqual({ pg_connect_timeout_ms: 5000, pg_query_timeout_ms: 30_000 });
  });
});
