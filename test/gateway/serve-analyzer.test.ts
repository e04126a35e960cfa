import { afterEach, describe, expect, it } from "vitest";
import type { TrafficWindows, WindowCounts } from "../../src/gateway/traffic-windows.js";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { generateToken, hashToken } from "../../src/registry/tokens.js";
import { createTestDatabase, type TestDatabase } from "../support/databases.js";
import { pollUntil } from "../support/process.js";
import { registration } from "../support/test-app.js";

describe("the canary analyzer in a started server", () => {
  let server: RunningServer | undefined;
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await server?.close();
    await database?.drop();
  });

  it("analyses due canaries while it serves, from the traffic source it is given, and stops with it", async () => {
    database = await createTestDatabase("sqlite");
    const asked: number[][] = [];
    const traffic: TrafficWindows = {
      async window(ids) {
        asked.push(ids);
        return new Map<number, WindowCounts>();
      },
    };
    server = await startServer({
      databaseUrl: database.url,
      host: "127.0.0.1",
      port: 0,
      publicRead: false,
      logFile: `${database.url}.log`,
      traffic: () => traffic,
      canaryPollMs: 20,
    });
    const token = generateToken();
    await server.context.stores.tokens.insert({
      name: "test",
      token_hash: hashToken(token),
      scope: "admin",
      owner_team: null,
      created_at: Date.now(),
    });
    const post = (body: Record<string, unknown>) =>
      fetch(`${server?.url}/v1/deployments`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(registration(body)),
      });
    expect((await post({ model_version: "1.0.0" })).status).toBe(201);
    const canary = await post({ model_version: "2.0.0", role: "canary", canary: { weight: 10 } });
    expect(canary.status).toBe(201);
    const id = ((await canary.json()) as { id: number }).id;
    // Due now, with a window long past: the running analyzer takes it at its next poll.
    await server.context.database.db
      .updateTable("canaries")
      .set({ next_analysis_at: 0, window_start: Date.now() - 10 * 60_000 })
      .where("deployment_id", "=", id)
      .execute();
    const analyses = await pollUntil("the server's analyzer to analyse the canary", async () => {
      const rows = await server?.context.stores.canaries.listAnalyses(id, 10);
      return rows && rows.length > 0 ? rows : undefined;
    });
    expect(analyses[0]).toMatchObject({ verdict: "inconclusive", action: "hold" });
    expect(asked[0]).toEqual([id, id - 1]);
    await server.close();
    server = undefined;
  });
});
