import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { type GatewayProcess, startGatewayProcess } from "../support/gateway-process.js";
import { pollUntil, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";
import { startUpstream, type Upstream } from "../support/upstreams.js";

describe.each(dialects())("tenure gateway --registry, a server on %s", (dialect) => {
  const dir = tempDir();
  let database: TestDatabase;
  let v1: Upstream;
  let v2: Upstream;
  let serve: ServeProcess;
  let gateway: GatewayProcess;
  let admin: string;
  const tenure = (...args: string[]) => runTenure([...args, "--database", database.url], { cwd: dir.path });
  const token = async (scope: string) => {
    const created = await tenure("token", "create", "--scope", scope);
    expect(created.code, created.stderr).toBe(0);
    return created.stdout.trim();
  };

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    v1 = await startUpstream("echo", { name: "v1", version: "1.0.0" });
    v2 = await startUpstream("echo", { name: "v2", version: "2.0.0" });
    expect((await tenure("init")).code).toBe(0);
    admin = await token("admin");
    const read = await token("read");
    for (const [version, upstream] of [
      ["1.0.0", v1],
      ["2.0.0", v2],
    ] as const) {
      const args = ["--trained-through", "2026-10-01", "--team", "risk", "--endpoint", upstream.url];
      expect((await tenure("deploy", "fraud-gbm", version, ...args)).code).toBe(0);
    }
    serve = await startServe({ cwd: dir.path, database: database.url });
    gateway = await startGatewayProcess({ cwd: dir.path, args: ["--registry", serve.url, "--token", read] });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await serve?.stop();
    await v1?.close();
    await v2?.close();
    await database?.drop();
    dir.remove();
  });

  const versionAt = async () => {
    const response = await fetch(`${gateway.url}/fraud-gbm/predict`);
    await response.arrayBuffer();
    return response.headers.get("tenure-model-version");
  };
  const health = async () =>
    (await (await fetch(`${gateway.url}/healthz`)).json()) as {
      status: string;
      registry: string;
      routes: number;
    };

  it("serves the routes it read from the server", async () => {
    expect(await versionAt()).toBe("2.0.0");
    expect(await health()).toMatchObject({ status: "ok", registry: "connected", routes: 1 });
  });

  it("follows a rollback made through the API within a second (long poll)", async () => {
    const started = Date.now();
    const res = await fetch(`${serve.url}/v1/models/fraud-gbm/rollback`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin}`, "content-type": "application/json" },
      body: JSON.stringify({ environment: "production", to_version: "1.0.0" }),
    });
    expect(res.status).toBe(200);
    const answered = Date.now();
    await pollUntil(
      "1.0.0 at the gateway",
      async () => ((await versionAt()) === "1.0.0" ? true : undefined),
      5_000,
      5,
    );
    console.log(
      `${dialect}, remote: the gateway served 1.0.0 ${Date.now() - answered} ms after the rollback was answered (${Date.now() - started} ms after it was sent)`,
    );
  });

  it("keeps serving its last routes when the server goes away, and says so on /healthz", async () => {
    await serve.stop();
    const lost = await pollUntil("lost", async () => {
      const body = await health();
      return body.registry === "lost" ? body : undefined;
    });
    expect(lost).toMatchObject({ status: "degraded", routes: 1 });
    expect(await versionAt()).toBe("1.0.0");
  });
});
