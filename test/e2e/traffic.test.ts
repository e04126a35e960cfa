import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import type { Exchange, RouteTarget } from "../../src/gateway/exchange.js";
import { RejectedReportError, TrafficMeter } from "../../src/gateway/traffic-meter.js";
import { LATENCY_BOUNDS_MS } from "../../src/gateway/traffic-report.js";
import { LocalTrafficSink, RemoteTrafficSink } from "../../src/gateway/traffic-sinks.js";
import { openDatabase } from "../../src/store/database.js";
import { storesOf } from "../../src/store/stores.js";
import { type BothPaths, startBothPaths } from "../support/both-paths.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { answered, modelRoutes, routeTarget } from "../support/exchanges.js";
import {
  cells,
  deploymentIdIn,
  runTenure,
  type ServeProcess,
  startServe,
  tempDir,
} from "../support/process.js";

const target = (id: number, version: string) => routeTarget(id, version);
const routes = modelRoutes();
const exchange = (t: RouteTarget, changes: Partial<Exchange> = {}) =>
  answered(t, { latency_ms: 12, upstream_version: t.model_version, started_at: Date.now(), ...changes });

/** Counts what a meter reports to `sink`, then closes it: close sends what is left. */
async function meterOnce(
  sink: ConstructorParameters<typeof TrafficMeter>[0]["sink"],
  feed: (meter: TrafficMeter) => void,
): Promise<void> {
  const meter = new TrafficMeter({ sink, gateway: "gw-test", environment: "production" });
  feed(meter);
  await meter.close();
}

describe.each(dialects())(
  "a gateway's traffic meter reporting to a started server on %s",
  { timeout: 60_000 },
  (dialect) => {
    let database: TestDatabase;
    let server: ServeProcess;
    let token: string;
    const dir = tempDir();

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      const created = await runTenure(["token", "create", "--scope", "write", "--database", database.url], {
        cwd: dir.path,
      });
      expect(created.code, created.stderr).toBe(0);
      token = created.stdout.trim();
      server = await startServe({ cwd: dir.path, database: database.url });
    });
    afterAll(async () => {
      await server?.stop();
      await database?.drop();
      dir.remove();
    });

    it("POSTs its counts to /v1/traffic, where they add up per minute and mark the deployment alive and mismatched", async () => {
      const deployed = await runTenure(
        ["deploy", "fraud", "2.0", "--trained-through", "2026-01-01", "--team", "risk"],
        { cwd: dir.path, env: { TENURE_URL: server.url, TENURE_TOKEN: token } },
      );
      expect(deployed.code, deployed.stderr).toBe(0);
      const id = deploymentIdIn(deployed.stdout);
      const sink = new RemoteTrafficSink({ registry: server.url, token });
      const before = Date.now();
      await meterOnce(sink, (meter) => {
        meter.answered(exchange(target(id, "2.0")), routes);
        meter.answered(
          exchange(target(id, "2.0"), { outcome: "timeout", status: 504, latency_ms: 40_000 }),
          routes,
        );
        meter.answered(exchange(target(id, "2.0"), { upstream_version: "1.9" }), routes);
        meter.ghost("churn", Date.now());
      });

      const db = openDatabase(database.url);
      try {
        const stores = storesOf(db);
        const window = await stores.traffic.window([id], before - 120_000, Date.now() + 60_000);
        const buckets = new Array(LATENCY_BOUNDS_MS.length + 1).fill(0);
        buckets[4] = 2; // 12 ms ≤ 20
        buckets[LATENCY_BOUNDS_MS.length] = 1;
        expect(window.get(id)).toMatchObject({
          requests: 3,
          errors: 1,
          timeouts: 1,
          latency_buckets: buckets,
        });
        const row = await stores.deployments.findDeployment(id);
        expect(row?.last_traffic_at).toBeGreaterThanOrEqual(before);
        expect(row).toMatchObject({ reported_version: "1.9", version_mismatch_at: expect.any(Number) });
        expect((await stores.traffic.listGhosts({ limit: 10 })).map((g) => g.model)).toEqual(["churn"]);
      } finally {
        await db.close();
      }
    });

    it("is told a refused report is refused, so that the meter drops it rather than send it forever", async () => {
      const sink = new RemoteTrafficSink({ registry: server.url, token });
      await expect(
        sink.send({ gateway: "", deployments: [], ghosts: [], pairs: [], predictions: [] }),
      ).rejects.toBeInstanceOf(RejectedReportError);
      const wrongToken = new RemoteTrafficSink({ registry: server.url, token: "nope" });
      const refused = await wrongToken
        .send({ gateway: "gw", deployments: [], ghosts: [], pairs: [], predictions: [] })
        .catch((e) => e);
      // A token can be fixed while the registry is away: that report is kept, not dropped.
      expect(refused).toBeInstanceOf(Error);
      expect(refused).not.toBeInstanceOf(RejectedReportError);
    });
  },
);

describe("tenure ghosts, opening the database or through TENURE_URL", { timeout: 120_000 }, () => {
  let paths: BothPaths;

  beforeAll(async () => {
    paths = await startBothPaths("write");
    // The remote side's ghosts come from a meter reporting to the server; the local side's from
    // a meter writing straight into the database, as `tenure gateway --database` does.
    await meterOnce(new RemoteTrafficSink({ registry: paths.server.url, token: paths.server.token }), (m) => {
      for (let i = 0; i < 3; i++) m.ghost("churn-v2", Date.now());
      m.ghost("Fraud", Date.now());
    });
    const context = await openContext(paths.localDatabase);
    try {
      const actor = { name: "gateway:gw-test", key_scope: "gateway:gw-test", team: null };
      await meterOnce(new LocalTrafficSink(context.traffic, actor), (m) => {
        for (let i = 0; i < 3; i++) m.ghost("churn-v2", Date.now());
        m.ghost("Fraud", Date.now());
      });
    } finally {
      await context.close();
    }
  });
  afterAll(async () => {
    await paths?.stop();
  });

  it("lists the same ghosts both ways, most requested first, as a table and as JSON", async () => {
    const [local, remote] = await Promise.all([
      paths.local("ghosts", "--json"),
      paths.remote("ghosts", "--json"),
    ]);
    for (const result of [local, remote]) {
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).items).toEqual([
        expect.objectContaining({
          model: "churn-v2",
          environment: "production",
          requests: 3,
          last_gateway: "gw-test",
        }),
        expect.objectContaining({ model: "Fraud", environment: "production", requests: 1 }),
      ]);
    }
    const [localTable, remoteTable] = await Promise.all([paths.local("ghosts"), paths.remote("ghosts")]);
    for (const result of [localTable, remoteTable]) {
      expect(result.code, result.stderr).toBe(0);
      const rows = cells(result.stdout);
      expect(rows[0]).toEqual(["MODEL", "ENVIRONMENT", "REQUESTS", "FIRST SEEN", "LAST SEEN", "GATEWAY"]);
      expect(rows.slice(1).map((r) => [r[0], r[2]])).toEqual([
        ["churn-v2", "3"],
        ["Fraud", "1"],
      ]);
    }
  });

  it("filters by environment and says when there are none", async () => {
    const [local, remote] = await Promise.all([
      paths.local("ghosts", "--env", "staging"),
      paths.remote("ghosts", "--env", "staging"),
    ]);
    for (const result of [local, remote]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe(
        "no ghosts in staging: every request a gateway reported was for a registered model\n",
      );
    }
  });

  it("stops listing a ghost once its model is deployed in that environment", async () => {
    for (const run of [paths.local, paths.remote]) {
      const deployed = await run(
        "deploy",
        "churn-v2",
        "1.0",
        "--trained-through",
        "2026-01-01",
        "--team",
        "risk",
      );
      expect(deployed.code, deployed.stderr).toBe(0);
      const listed = await run("ghosts", "--json");
      expect(JSON.parse(listed.stdout).items.map((g: { model: string }) => g.model)).toEqual(["Fraud"]);
    }
  });
});
