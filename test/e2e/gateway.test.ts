import { readdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { type GatewayProcess, startGatewayProcess } from "../support/gateway-process.js";
import { expectOneLineFailure, pollUntil, runTenure, tempDir } from "../support/process.js";
import { startUpstream, type Upstream } from "../support/upstreams.js";

describe("tenure gateway refuses what it cannot serve", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it.each([
    [["--port", "0"], "--port"],
    [["--upstream-timeout", "soon"], "--upstream-timeout"],
    [["--shadow-sample", "2"], "--shadow-sample"],
    [["--shadow-max-body", "lots"], "--shadow-max-body"],
    [["--environment", "Not A Slug"], "--environment"],
    [["--version-header", "bad header"], "--version-header"],
    [["--database", "x.db", "--registry", "http://127.0.0.1:1"], "--registry"],
    [["--registry", "http://127.0.0.1:1"], "--token"],
  ])("%j: one line, exit 2", async (args, named) => {
    const result = await runTenure(["gateway", ...args], { cwd: dir.path });
    expect(expectOneLineFailure(result, 2)).toContain(named);
  });

  it("refuses a database that does not exist, exit 2", async () => {
    const result = await runTenure(["gateway", "--database", "typo.db"], { cwd: dir.path });
    expect(expectOneLineFailure(result, 2)).toContain("does not exist");
    expect(readdirSync(dir.path)).toEqual([]);
  });
});

describe.each(dialects())("tenure gateway on %s", (dialect) => {
  const dir = tempDir();
  let database: TestDatabase;
  let v1: Upstream;
  let v2: Upstream;
  let gateways: GatewayProcess[] = [];
  const tenure = (...args: string[]) => runTenure([...args, "--database", database.url], { cwd: dir.path });

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    v1 = await startUpstream("echo", { name: "v1", version: "1.0.0" });
    v2 = await startUpstream("echo", { name: "v2", version: "2.0.0" });
    expect((await tenure("init")).code).toBe(0);
    for (const [version, upstream] of [
      ["1.0.0", v1],
      ["2.0.0", v2],
    ] as const) {
      const deployed = await tenure(
        "deploy",
        "fraud-gbm",
        version,
        "--trained-through",
        "2026-10-01",
        "--team",
        "risk",
        "--endpoint",
        `${upstream.url}/v1`,
      );
      expect(deployed.code, deployed.stderr).toBe(0);
    }
    gateways = await Promise.all(
      [0, 1].map(() => startGatewayProcess({ cwd: dir.path, args: ["--database", database.url] })),
    );
  }, 60_000);
  afterAll(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await v1?.close();
    await v2?.close();
    await database?.drop();
    dir.remove();
  });

  const versionAt = async (gateway: GatewayProcess) => {
    const response = await fetch(`${gateway.url}/fraud-gbm/predict`);
    await response.arrayBuffer();
    return response.headers.get("tenure-model-version");
  };

  it("prints where it listens, for which environment, with how many routes", () => {
    for (const gateway of gateways) {
      expect(gateway.stdout()).toContain(
        `tenure gateway listening on ${gateway.url} for production: 1 route(s)`,
      );
    }
  });

  it("serves the live primary, stamped, and says on /healthz that the registry is there", async () => {
    const response = await fetch(`${gateways[0]?.url}/fraud-gbm/predict?x=1`, { method: "POST", body: "{}" });
    expect(response.status).toBe(200);
    expect(response.headers.get("tenure-model-version")).toBe("2.0.0");
    expect(((await response.json()) as { name: string; url: string }).url).toBe("/v1/predict?x=1");
    const health = await (await fetch(`${gateways[0]?.url}/healthz`)).json();
    expect(health).toMatchObject({
      status: "ok",
      environment: "production",
      routes: 1,
      registry: "connected",
    });
  });

  it("loses no request while a rollback reaches both gateways, and reaches them within a second", async () => {
    let running = true;
    const answers: { status: number; version: string | null }[] = [];
    const failures: unknown[] = [];
    const stream = async (gateway: GatewayProcess) => {
      while (running) {
        try {
          const response = await fetch(`${gateway.url}/fraud-gbm/predict`, {
            method: "POST",
            body: '{"x":1}',
          });
          await response.arrayBuffer();
          answers.push({ status: response.status, version: response.headers.get("tenure-model-version") });
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const streams = gateways.map(stream);
    await pollUntil("requests flowing", () => (answers.length > 20 ? true : undefined));
    const started = Date.now();
    const rollback = await tenure("rollback", "fraud-gbm", "--to", "1.0.0");
    const committed = Date.now();
    expect(rollback.code, rollback.stderr).toBe(0);
    const switched = await Promise.all(
      gateways.map(async (gateway) => {
        await pollUntil(
          "the rollback at the gateway",
          async () => ((await versionAt(gateway)) === "1.0.0" ? true : undefined),
          5_000,
          5,
        );
        return Date.now();
      }),
    );
    const slowest = Math.max(...switched);
    console.log(
      `${dialect}: both gateways served 1.0.0 ${slowest - committed} ms after \`tenure rollback\` exited ` +
        `(${slowest - started} ms after it started, process start-up included)`,
    );
    expect(slowest - committed).toBeLessThan(5_000);
    const before = answers.length;
    await pollUntil("more requests after the switch", () =>
      answers.length > before + 20 ? true : undefined,
    );
    running = false;
    await Promise.all(streams);
    expect(failures).toEqual([]);
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(new Set(answers.map((a) => a.version))).toEqual(new Set(["1.0.0", "2.0.0"]));
    // Traffic went back to where 1.0.0 served, not to 2.0.0's endpoint.
    expect(v1.requests).toBeGreaterThan(0);
    console.log(`${dialect}: ${answers.length} requests during the rollback, none lost`);
  }, 60_000);

  if (dialect === "postgres") {
    it("keeps serving its last routes when the registry's connections drop, and says so on /healthz", async () => {
      const pg = await import("pg");
      const admin = new pg.default.Client({ connectionString: database.url });
      await admin.connect();
      try {
        await admin.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()",
        );
        const gateway = gateways[0] as GatewayProcess;
        const health = await pollUntil(
          "degraded",
          async () => {
            const body = (await (await fetch(`${gateway.url}/healthz`)).json()) as {
              registry: string;
              lost_since: string;
            };
            return body.registry === "lost" ? body : undefined;
          },
          5_000,
          10,
        );
        expect(health).toMatchObject({
          status: "degraded",
          registry: "lost",
          lost_since: expect.any(String),
        });
        expect((await fetch(`${gateway.url}/fraud-gbm/p`)).status).toBe(200);
        await pollUntil(
          "connected again",
          async () => {
            const body = (await (await fetch(`${gateway.url}/healthz`)).json()) as { registry: string };
            return body.registry === "connected" ? true : undefined;
          },
          15_000,
          50,
        );
      } finally {
        await admin.end();
      }
    });
  }
});
