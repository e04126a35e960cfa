import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { generateToken, hashToken } from "../../src/registry/tokens.js";
import { isUnavailable } from "../../src/store/database.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { POSTGRES_URL } from "../support/postgres-url.js";
import { pollUntil } from "../support/process.js";
import { type SilentNetwork, startBlackHole, startSilentNetwork } from "../support/silent-network.js";
import { registration } from "../support/test-app.js";

// Short, so that the test rides out each timeout in about a second; the defaults are 5 s and 30 s.
const CONNECT_TIMEOUT_MS = 500;
const QUERY_TIMEOUT_MS = 1_500;

/** `url` with its host and port replaced by 127.0.0.1:`port`. */
function through(url: string, port: number): string {
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${port}`;
  return proxied.toString();
}

// A PostgreSQL that stops answering without refusing or closing anything (a partition that drops
// packets, a hung host): requests must fail fast with 503, not wait for TCP's own timeouts.
describe.runIf(dialects().includes("postgres"))("a PostgreSQL that goes silent", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function serveThrough(network: SilentNetwork, database: TestDatabase) {
    const server: RunningServer = await startServer({
      databaseUrl: through(database.url, network.port),
      host: "127.0.0.1",
      port: 0,
      publicRead: false,
      logLevel: "silent",
      tokenRate: null,
      anonymousRate: null,
      pgConnectTimeoutMs: CONNECT_TIMEOUT_MS,
      pgQueryTimeoutMs: QUERY_TIMEOUT_MS,
    });
    // Closed after the network is: a socket gone silent ends only once the network lets it go.
    cleanups.push(() => server.close());
    const token = generateToken();
    await server.context.stores.tokens.insert({
      name: "admin",
      token_hash: hashToken(token),
      scope: "admin",
      owner_team: null,
      created_at: Date.now(),
    });
    const call = (method: "GET" | "POST", path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    return { server, call };
  }

  async function expectUnavailable(response: Response, what: string) {
    expect(response.status, what).toBe(503);
    expect(response.headers.get("retry-after"), what).toBe("1");
    expect(response.headers.get("content-type"), what).toMatch(/^application\/problem\+json/);
    expect(await response.json(), what).toMatchObject({
      type: "https://tenure.dev/problems/unavailable",
      status: 503,
    });
  }

  it("answers 503 problem+json with Retry-After while it is silent, mid-query and on new connections, /healthz says 503, and the server recovers by itself", async () => {
    const database = await createTestDatabase("postgres");
    cleanups.push(() => database.drop());
    const target = new URL(POSTGRES_URL);
    const network = await startSilentNetwork({ host: target.hostname, port: Number(target.port || 5432) });
    const { call } = await serveThrough(network, database);
    cleanups.push(() => network.close());
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    cleanups.push(() => admin.end());

    const first = await call("POST", "/v1/deployments", registration());
    expect(first.status).toBe(201);
    expect((await call("GET", "/healthz")).status).toBe(200);

    // Mid-query: a list waits for a lock this test holds; the network goes silent, then the lock
    // is let go, and PostgreSQL's answer is lost on the way. Only the query timeout ends the wait.
    await admin.query("begin");
    await admin.query("lock table deployments in access exclusive mode");
    const list = call("GET", "/v1/deployments");
    await pollUntil("the list waiting for the lock", async () => {
      await admin.query("select pg_stat_clear_snapshot()");
      const { rows } = await admin.query(
        `select pid from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`,
      );
      return rows.length > 0 ? true : undefined;
    });
    network.silence();
    const silencedAt = performance.now();
    await admin.query("rollback");
    await expectUnavailable(await list, "a list whose answer was lost");
    const midQueryMs = performance.now() - silencedAt;

    // While silent: idle connections' statements go unanswered, new connections are never
    // answered; reads, writes and the health check all fail fast, none with 500.
    const acceptedBefore = network.accepted;
    const answerMs: number[] = [];
    const timed = async (send: () => Promise<Response>) => {
      const start = performance.now();
      const response = await send();
      answerMs.push(performance.now() - start);
      return response;
    };
    for (let i = 0; i < 3; i++) {
      await expectUnavailable(await timed(() => call("GET", "/v1/deployments")), `list ${i} while silent`);
      await expectUnavailable(
        await timed(() => call("POST", "/v1/deployments", registration({ model_version: `silent-${i}` }))),
        `registration ${i} while silent`,
      );
      await expectUnavailable(await timed(() => call("GET", "/healthz")), `health ${i} while silent`);
    }
    // Some of those met the connect timeout on connections the silence never answered.
    expect(network.accepted).toBeGreaterThan(acceptedBefore);

    network.restore();
    const restoredAt = performance.now();
    await pollUntil(
      "the health check to answer 200 again",
      async () => ((await call("GET", "/healthz")).status === 200 ? true : undefined),
      30_000,
      100,
    );
    const recoveredMs = performance.now() - restoredAt;
    const again = await call("POST", "/v1/deployments", registration({ model_version: "3.3.0" }));
    expect(again.status).toBe(201);
    const { id } = (await again.json()) as { id: number };
    expect((await call("GET", `/v1/deployments/${id}`)).status).toBe(200);
    // Nothing written while silent was acknowledged, and nothing acknowledged was lost.
    const { rows } = await admin.query<{ model_version: string }>(
      "select model_version from deployments order by id",
    );
    expect(rows.map((row) => row.model_version)).toEqual(["3.2.0", "3.3.0"]);
    const round = (ms: number) => Math.round(ms);
    process.stdout.write(
      `silent PostgreSQL (connect timeout ${CONNECT_TIMEOUT_MS} ms, query timeout ${QUERY_TIMEOUT_MS} ms): ` +
        `the list whose answer was lost answered 503 ${round(midQueryMs)} ms after the silence; ` +
        `${answerMs.length} requests while silent answered 503 in ${round(Math.min(...answerMs))}–${round(Math.max(...answerMs))} ms; ` +
        `${network.accepted - acceptedBefore} connections tried while silent; healthy again ${round(recoveredMs)} ms after the network came back\n`,
    );
  });

  it("refuses to start on a server that takes connections and never answers, within the connect timeout", async () => {
    const hole = await startBlackHole();
    cleanups.push(() => hole.close());
    const started = startServer({
      databaseUrl: `postgres://postgres@127.0.0.1:${hole.port}/tenure`,
      host: "127.0.0.1",
      port: 0,
      publicRead: false,
      logLevel: "silent",
      pgConnectTimeoutMs: CONNECT_TIMEOUT_MS,
    });
    const error = await started.then(
      async (server) => {
        await server.close();
        return undefined;
      },
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(Error);
    expect(isUnavailable(error), String(error)).toBe(true);
  });
});
