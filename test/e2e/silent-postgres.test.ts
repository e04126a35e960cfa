import { once } from "node:events";
import pg from "pg";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { startGatewayProcess } from "../support/gateway-process.js";
import { POSTGRES_URL } from "../support/postgres-url.js";
import { type Exit, pollUntil, runTenure, startServe, tempDir } from "../support/process.js";
import { type SilentNetwork, startSilentNetwork } from "../support/silent-network.js";

// Short, so that each silence is noticed in about a second; the defaults are 5 s and 30 s.
const TIMEOUTS = { TENURE_PG_CONNECT_TIMEOUT: "500ms", TENURE_PG_QUERY_TIMEOUT: "1500ms" };

/** `url` with its host and port replaced by 127.0.0.1:`port`. */
function through(url: string, port: number): string {
  const proxied = new URL(url);
  proxied.host = `127.0.0.1:${port}`;
  return proxied.toString();
}

async function adminQuery<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

// Processes on a PostgreSQL behind a network that goes silent (drops every packet, refuses and
// closes nothing): the gateway's route listener and a server's stop must not wait on it forever.
describe.runIf(dialects().includes("postgres"))("tenure processes on a PostgreSQL that goes silent", () => {
  const dir = tempDir();
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(() => dir.remove());

  async function silentDatabase(): Promise<{
    database: TestDatabase;
    network: SilentNetwork;
    proxied: string;
  }> {
    const database = await createTestDatabase("postgres");
    cleanups.push(() => database.drop());
    const target = new URL(POSTGRES_URL);
    const network = await startSilentNetwork({ host: target.hostname, port: Number(target.port || 5432) });
    cleanups.push(() => network.close());
    const init = await runTenure(["init", "--database", database.url], { cwd: dir.path });
    expect(init.code, init.stderr).toBe(0);
    return { database, network, proxied: through(database.url, network.port) };
  }

  /** Deploys `model` straight on the database, not through the silent network. */
  async function deploy(database: TestDatabase, model: string) {
    const deployed = await runTenure(
      [
        "deploy",
        model,
        "1.0.0",
        "--trained-through",
        "2026-10-01",
        "--team",
        "risk",
        "--endpoint",
        "http://127.0.0.1:9/v1",
        "--database",
        database.url,
      ],
      { cwd: dir.path },
    );
    expect(deployed.code, deployed.stderr).toBe(0);
  }

  it("a gateway whose route listener went silent connects again and picks up the route changes it missed, without a restart; stopped while silent, it exits 0", async () => {
    const { database, network, proxied } = await silentDatabase();
    await deploy(database, "fraud-gbm");
    const gateway = await startGatewayProcess({
      cwd: dir.path,
      args: ["--database", proxied],
      env: TIMEOUTS,
    });
    cleanups.push(() => gateway.stop());
    const health = async () => {
      const response = await fetch(`${gateway.url}/healthz`);
      return (await response.json()) as { routes: number; registry: string; lost_since: string | null };
    };
    const listenerPids = () =>
      adminQuery<{ pid: number }>(
        database.url,
        // Its last statement is its LISTEN, or the liveness check after it.
        "select pid from pg_stat_activity where datname = current_database() and application_name = 'tenure-gateway-routes' and (query ilike 'listen%' or query = 'select 1')",
      ).then((rows) => rows.map((row) => row.pid));
    const firstListener = await pollUntil("the gateway to LISTEN", async () => (await listenerPids())[0]);
    expect(await health()).toMatchObject({ routes: 1, registry: "connected" });

    // A blip: the connections open at that moment stay silent for good (as after a failover or a
    // firewall that forgot the flow), while new connections work at once. The listener's own
    // connection raises nothing and never ends: only its check can tell.
    network.silence();
    network.restore();
    await deploy(database, "churn-xgb");
    await pollUntil("the gateway to route the deployment made after the blip", async () =>
      (await health()).routes === 2 ? true : undefined,
    );
    const secondListener = await pollUntil("the gateway to LISTEN again", async () =>
      (await listenerPids()).find((pid) => pid !== firstListener),
    );
    expect(secondListener).not.toBe(firstListener);

    // A longer silence: the gateway says on /healthz that its registry is lost, keeps its routes,
    // and reads them again once the network is back.
    network.silence();
    await pollUntil("/healthz to say the registry is lost", async () =>
      (await health()).registry === "lost" ? true : undefined,
    );
    await deploy(database, "ltv-lgbm");
    expect(await health()).toMatchObject({ routes: 2, registry: "lost" });
    network.restore();
    await pollUntil(
      "the gateway to route the deployment made while silent",
      async () => {
        const now = await health();
        return now.routes === 3 && now.registry === "connected" ? true : undefined;
      },
      30_000,
      100,
    );
    const log = gateway.stdout();
    expect(log).toContain("did not answer the route listener's check");
    expect(log).toContain("the registry is lost; the gateway keeps serving its last routes");
    expect(log).toContain("the registry is back");

    // Stopped while silent, it sends its last traffic report (bounded by the query timeout) and
    // cuts what does not say goodbye: it exits rather than wait for TCP's timeouts.
    network.silence();
    const exited = once(gateway.child, "exit");
    gateway.child.kill("SIGTERM");
    const exit = await Promise.race([
      exited.then(([code, signal]) => ({ code, signal })),
      new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 20_000)),
    ]);
    expect(exit, gateway.stderr()).toEqual({ code: 0, signal: null });
  }, 120_000);

  it("tenure serve stops on SIGTERM, exit 0, while PostgreSQL is silent, without waiting for TCP's timeouts", async () => {
    const { network, proxied } = await silentDatabase();
    const serve = await startServe({ cwd: dir.path, database: proxied, env: TIMEOUTS });
    cleanups.push(async () => {
      if (serve.child.exitCode === null && serve.child.signalCode === null) serve.child.kill("SIGKILL");
      await serve.exited;
    });
    // Several connections in the pool, idle and open when the network goes silent.
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => fetch(`${serve.url}/healthz`).then((response) => response.status)),
    );
    expect(answers).toEqual([200, 200, 200, 200, 200, 200]);
    expect(network.accepted).toBeGreaterThan(1);
    network.silence();
    serve.child.kill("SIGTERM");
    const exit = await Promise.race([
      serve.exited,
      new Promise<"still running">((resolve) => setTimeout(() => resolve("still running"), 20_000)),
    ]);
    expect(exit, serve.stderr()).toEqual({ code: 0, signal: null } satisfies Exit);
    expect(serve.stdout()).toContain("tenure stopped");
  }, 60_000);
});
