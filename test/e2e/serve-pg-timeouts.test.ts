import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import {
  expectOneLineFailure,
  pollUntil,
  runTenure,
  type ServeProcess,
  startServe,
  tempDir,
} from "../support/process.js";

describe("tenure serve's PostgreSQL timeouts, from --pg-connect-timeout and --pg-query-timeout", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it.each([
    [
      ["--pg-connect-timeout", "off"],
      {},
      /--pg-connect-timeout must be a duration such as 30s, 500ms or 2m, at most 60m \(see --help\)$/,
    ],
    [
      ["--pg-query-timeout", "soon"],
      {},
      /--pg-query-timeout must be a duration such as 30s, 500ms or 2m, at most 60m, or off \(see --help\)$/,
    ],
    [
      [],
      { TENURE_PG_CONNECT_TIMEOUT: "off" },
      /TENURE_PG_CONNECT_TIMEOUT must be a duration such as 30s, 500ms or 2m, at most 60m$/,
    ],
    [
      [],
      { TENURE_PG_QUERY_TIMEOUT: "none" },
      /TENURE_PG_QUERY_TIMEOUT must be a duration such as 30s, 500ms or 2m, at most 60m, or off$/,
    ],
  ])("%j %j: one line, exit 2", async (args, env, message) => {
    const result = await runTenure(["serve", ...args], { cwd: dir.path, env });
    expect(expectOneLineFailure(result, 2)).toMatch(message);
  });
});

describe.each(dialects().filter((d) => d === "postgres"))("tenure serve on %s", (dialect) => {
  const dir = tempDir();
  let database: TestDatabase;
  let server: ServeProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    dir.remove();
  });

  /** The start-up line's figures: the timeouts the server's pool uses. */
  const startedWith = async (args: string[], env: Record<string, string> = {}) => {
    server = await startServe({ cwd: dir.path, database: database.url, extraArgs: args, env });
    const started = server;
    const line = await pollUntil("the start-up line", () =>
      started
        .stdout()
        .split("\n")
        .find((l) => l.includes('"tenure is serving"')),
    );
    await server.stop();
    server = undefined;
    const { pg_connect_timeout_ms, pg_query_timeout_ms } = JSON.parse(line);
    return { pg_connect_timeout_ms, pg_query_timeout_ms };
  };

  it("a flag wins over its variable (off too), and a variable over the default", {
    timeout: 60_000,
  }, async () => {
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
