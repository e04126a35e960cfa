import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { RegisterDeploymentBody } from "../../src/registry/deployment-input.js";
import { generateToken, hashToken } from "../../src/registry/tokens.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { dailyPoints, decayingAuc, LEARNED_TTL_POLICIES as POLICIES } from "../support/decay-fleet.js";
import { pollUntil, tempDir } from "../support/process.js";
import { SEEDER } from "../support/seeding.js";
import { registration } from "../support/test-app.js";

const DAY = 86_400_000;

describe.each(dialects())("learned TTLs across replicas on %s", (dialect) => {
  let database: TestDatabase | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  const servers: RunningServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    await database?.drop();
    dir?.remove();
  });

  it("a server that did not sweep judges by the TTL another one learned, after its next refresh", async () => {
    database = await createTestDatabase(dialect);
    dir = tempDir();
    const policies = join(dir.path, "policies.yaml");
    writeFileSync(policies, POLICIES);
    // fraud-gbm's two versions, decaying alike (0.002 AUC a day from 0.96), seeded up to today.
    const today = Math.floor(Date.now() / DAY) * DAY;
    const t0 = today - 50 * DAY;
    let now = t0;
    const seeder = await openContext(database.url, { clock: () => now, policies });
    const token = generateToken();
    let first: number;
    let second: number;
    try {
      const register = async (version: string) =>
        (
          await seeder.registry.register(
            RegisterDeploymentBody.parse(registration({ model_version: version })),
            SEEDER,
          )
        ).deployment;
      first = (await register("3.1.0")).id;
      now = t0 + 30 * DAY;
      second = (await register("3.2.0")).id;
      now = Date.now();
      await seeder.stores.tokens.insert({
        name: "test",
        token_hash: hashToken(token),
        scope: "admin",
        owner_team: null,
        created_at: Date.now(),
      });
    } finally {
      await seeder.close();
    }
    for (const name of ["a", "b"]) {
      servers.push(
        await startServer({
          databaseUrl: database.url,
          host: "127.0.0.1",
          port: 0,
          publicRead: true,
          policies,
          logFile: join(dir.path, `${name}.log`),
          // Far from now: neither sweeps on its own schedule during the test.
          sweepCron: "0 0 1 1 *",
          learnedTtlRefreshMs: 50,
        }),
      );
    }
    const [a, b] = servers as [RunningServer, RunningServer];
    // Each server sweeps the schedule's missed slot as it starts: one of them does, before any metric.
    await pollUntil("the start-up sweep", async () => {
      const res = await fetch(`${a.url}/v1/sweeps`);
      const { items } = (await res.json()) as { items: { state: string }[] };
      return items.some((i) => i.state === "done") ? true : undefined;
    });
    const points = (from: number, days: number) => dailyPoints(from, days, decayingAuc);
    const send = (server: RunningServer, path: string, body: unknown) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    expect((await send(a, `/v1/deployments/${first}/metrics`, { points: points(t0, 30) })).status).toBe(200);
    expect(
      (await send(a, `/v1/deployments/${second}/metrics`, { points: points(t0 + 30 * DAY, 20) })).status,
    ).toBe(200);
    const ttlOn = async (server: RunningServer) => {
      const res = await fetch(`${server.url}/v1/deployments/${second}`);
      return ((await res.json()) as { age: { ttl_seconds: number; stage: string } }).age;
    };
    expect(await ttlOn(b)).toMatchObject({ ttl_seconds: 60 * 86_400, stage: "fresh" });
    // The other server's attempt at the missed slot may still hold the lease for a moment.
    await pollUntil("a manual sweep on the first server", async () =>
      (await send(a, "/v1/sweeps", {})).status === 201 ? true : undefined,
    );
    // The sweeping server judges by the new TTL at once; the other after its refresh.
    expect(await ttlOn(a)).toMatchObject({ ttl_seconds: 23 * 86_400, stage: "due" });
    const onB = await pollUntil("the other replica to read the learned TTL", async () => {
      const age = await ttlOn(b);
      return age.ttl_seconds === 23 * 86_400 ? age : undefined;
    });
    expect(onB.stage).toBe("due");
  });
});
