import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase } from "../../src/store/database.js";
import { storesOf } from "../../src/store/stores.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { type GatewayProcess, startGatewayProcess } from "../support/gateway-process.js";
import {
  deploymentIdIn,
  expectOneLineFailure,
  pollUntil,
  runTenure,
  type ServeProcess,
  startServe,
  tempDir,
} from "../support/process.js";
import { startUpstream, type Upstream } from "../support/upstreams.js";

describe("tenure gateway --flush-interval", () => {
  it("refuses what is not a duration with one line naming the flag, exit 2", async () => {
    const dir = tempDir();
    try {
      const result = await runTenure(["gateway", "--flush-interval", "soon"], { cwd: dir.path });
      expect(expectOneLineFailure(result, 2)).toContain("--flush-interval");
    } finally {
      dir.remove();
    }
  });
});

/**
 * `tenure gateway` reports what it served: the traffic reaches the registry within a flush
 * interval, by the database it opened or by the server it reads its routes from.
 */
describe.each(dialects())("tenure gateway reports its traffic, on %s", { timeout: 120_000 }, (dialect) => {
  const dir = tempDir();
  let database: TestDatabase;
  // It states version 1.9.0: the registry says 2.0.0 serves.
  let upstream: Upstream;
  let serve: ServeProcess;
  let id: number;
  const tenure = (...args: string[]) => runTenure([...args, "--database", database.url], { cwd: dir.path });

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    upstream = await startUpstream("echo", { name: "old", version: "1.9.0" });
    expect((await tenure("init")).code).toBe(0);
    const deployed = await tenure(
      "deploy",
      "fraud-gbm",
      "2.0.0",
      "--trained-through",
      "2026-10-01",
      "--team",
      "risk",
      "--endpoint",
      upstream.url,
    );
    expect(deployed.code, deployed.stderr).toBe(0);
    id = deploymentIdIn(deployed.stdout);
    serve = await startServe({ cwd: dir.path, database: database.url });
  }, 60_000);
  afterAll(async () => {
    await serve?.stop();
    await upstream?.close();
    await database?.drop();
    dir.remove();
  });

  /** What the registry holds of the deployment's traffic and of the ghost `churn`. */
  const registered = async () => {
    const db = openDatabase(database.url);
    try {
      const stores = storesOf(db);
      const window = await stores.traffic.window([id], 0, Date.now() + 3_600_000);
      const row = await stores.deployments.findDeployment(id);
      const ghosts = await stores.traffic.listGhosts({ limit: 10 });
      return {
        requests: window.get(id)?.requests ?? 0,
        last_traffic_at: row?.last_traffic_at ?? null,
        reported_version: row?.reported_version ?? null,
        churn: ghosts.find((g) => g.model === "churn")?.requests ?? 0,
      };
    } finally {
      await db.close();
    }
  };

  const drive = async (gateway: GatewayProcess, requests: number) => {
    for (let i = 0; i < requests; i++) {
      const served = await fetch(`${gateway.url}/fraud-gbm/predict`, { method: "POST", body: "{}" });
      await served.arrayBuffer();
      expect(served.status).toBe(200);
    }
    const ghost = await fetch(`${gateway.url}/churn/predict`);
    await ghost.arrayBuffer();
    expect(ghost.status).toBe(404);
  };

  it("with --database: counts, liveness, the mismatched version and ghosts reach the registry within a flush", async () => {
    const before = await registered();
    const gateway = await startGatewayProcess({
      cwd: dir.path,
      args: ["--database", database.url, "--flush-interval", "200ms"],
    });
    try {
      await drive(gateway, 3);
      const after = await pollUntil("the gateway's report to reach the database", async () => {
        const now = await registered();
        return now.requests >= before.requests + 3 && now.churn >= before.churn + 1 ? now : undefined;
      });
      expect(after).toMatchObject({ requests: before.requests + 3, reported_version: "1.9.0" });
      expect(after.last_traffic_at).toEqual(expect.any(Number));
    } finally {
      await gateway.stop();
    }
  });

  it("with --registry and a write token: the same through POST /v1/traffic, and the sweep finds the mismatch", async () => {
    const created = await tenure("token", "create", "--scope", "write");
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();
    const before = await registered();
    const gateway = await startGatewayProcess({
      cwd: dir.path,
      args: ["--registry", serve.url, "--token", token, "--flush-interval", "200ms"],
    });
    try {
      await pollUntil("the gateway to have its routes", async () => {
        const health = (await (await fetch(`${gateway.url}/healthz`)).json()) as { routes: number };
        return health.routes === 1 ? true : undefined;
      });
      await drive(gateway, 2);
    } finally {
      // Stopping sends what is left: nothing counted is lost.
      await gateway.stop();
    }
    const after = await registered();
    expect(after.requests).toBe(before.requests + 2);
    expect(after.churn).toBe(before.churn + 1);
    const env = { TENURE_URL: serve.url, TENURE_TOKEN: token };
    const swept = await runTenure(["sweep", "--json"], { cwd: dir.path, env });
    expect(swept.code, swept.stderr).toBe(0);
    const alerts = await runTenure(["alerts", "--json"], { cwd: dir.path, env });
    expect(JSON.parse(alerts.stdout).items).toEqual([
      expect.objectContaining({ kind: "version_mismatch", deployment_id: id, state: "open" }),
    ]);
    // `tenure show` says when it was last seen serving and what its upstream claims to be.
    const shown = await runTenure(["show", String(id)], { cwd: dir.path, env });
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^ {2}last seen {8}traffic \d{4}-\d{2}-\d{2} \d{2}:\d{2}Z$/m);
    expect(shown.stdout).toMatch(
      /^ {2}reported version 1\.9\.0 \(its upstream says so; the registry says \S+\)$/m,
    );
    const json = JSON.parse((await runTenure(["show", String(id), "--json"], { cwd: dir.path, env })).stdout);
    expect(json.deployment).toMatchObject({ reported_version: "1.9.0", last_traffic_at: expect.any(String) });
  });
});
