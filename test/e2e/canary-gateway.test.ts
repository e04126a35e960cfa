import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { type GatewayProcess, startGatewayProcess } from "../support/gateway-process.js";
import { deploymentIdIn, pollUntil, runTenure, tempDir } from "../support/process.js";
import { startUpstream, type Upstream } from "../support/upstreams.js";

/** What one request through the gateway came back with; `error` when no answer came at all. */
interface Outcome {
  status: number;
  deployment_id: number | null;
  error?: string;
}

/**
 * The whole path: a canary whose model server fails takes half of a steady stream through
 * `tenure gateway`, which reports its traffic; the gateway's own analysis (it opened the
 * database) judges a whole minute of it, rolls the canary back, and the route change reaches
 * the gateway: every request is answered by one version or the other, none is lost.
 */
describe.concurrent.each(dialects())("a failing canary behind tenure gateway on %s", (dialect) => {
  const dir = tempDir();
  let database: TestDatabase;
  let primary: Upstream;
  let failing: Upstream;
  let gateway: GatewayProcess;
  let primaryId = 0;
  let canaryId = 0;
  const tenure = (...args: string[]) => runTenure([...args, "--database", database.url], { cwd: dir.path });

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    primary = await startUpstream("echo", { name: "v1", version: "1.0.0" });
    failing = await startUpstream("fail", { name: "v2", version: "2.0.0" });
    expect((await tenure("init")).code).toBe(0);
    const common = ["--trained-through", "2026-10-01", "--team", "risk"];
    const first = await tenure("deploy", "fraud-gbm", "1.0.0", ...common, "--endpoint", primary.url);
    expect(first.code, first.stderr).toBe(0);
    primaryId = deploymentIdIn(first.stdout);
    const canary = await tenure(
      "deploy",
      "fraud-gbm",
      "2.0.0",
      ...common,
      "--endpoint",
      failing.url,
      "--role",
      "canary",
      "--weight",
      "50",
      "--interval",
      "10s",
      "--failure-limit",
      "1",
      "--min-requests",
      "20",
    );
    expect(canary.code, canary.stderr).toBe(0);
    canaryId = deploymentIdIn(canary.stdout);
    gateway = await startGatewayProcess({
      cwd: dir.path,
      args: ["--database", database.url, "--flush-interval", "1s"],
    });
  }, 60_000);
  afterAll(async () => {
    await gateway?.stop();
    await primary?.close();
    await failing?.close();
    await database?.drop();
    dir.remove();
  });

  const send = async (): Promise<Outcome> => {
    try {
      const response = await fetch(`${gateway.url}/fraud-gbm/predict`, { method: "POST", body: "{}" });
      await response.arrayBuffer();
      const id = response.headers.get("tenure-deployment-id");
      return { status: response.status, deployment_id: id === null ? null : Number(id) };
    } catch (error) {
      return { status: 0, deployment_id: null, error: String(error) };
    }
  };

  it("is rolled back by its analysis while every request of a steady stream is answered", async () => {
    const outcomes: Outcome[] = [];
    let streaming = true;
    // Four clients, each sending one request after another, until the rollback is seen.
    const clients = Array.from({ length: 4 }, async () => {
      while (streaming) {
        outcomes.push(await send());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    });
    try {
      const rolledBack = await pollUntil(
        "the canary rolled back",
        async () => {
          const shown = await tenure("canary", "fraud-gbm", "--json");
          const view = JSON.parse(shown.stdout) as {
            state: string;
            weight: number | null;
            analyses: { verdict: string; figures: Record<string, unknown> }[];
          };
          return view.state === "rolled_back" ? view : undefined;
        },
        180_000,
        1_000,
      );
      expect(rolledBack.weight).toBe(0);
      expect(rolledBack.analyses[0]?.verdict).toBe("fail");
      // The gateway follows the route change; from then on only the primary answers.
      await pollUntil(
        "the gateway routes only to the primary",
        async () => {
          const batch = await Promise.all(Array.from({ length: 20 }, send));
          return batch.every((o) => o.deployment_id === primaryId) ? true : undefined;
        },
        10_000,
        200,
      );
    } finally {
      streaming = false;
      await Promise.all(clients);
    }
    const after = await Promise.all(Array.from({ length: 50 }, send));
    expect(after.map((o) => [o.status, o.deployment_id])).toEqual(after.map(() => [200, primaryId]));
    // None lost: every request was answered, by the primary (200) or by the canary (its 500).
    expect(outcomes.filter((o) => o.error !== undefined)).toEqual([]);
    for (const o of outcomes) {
      expect([
        [200, primaryId],
        [500, canaryId],
      ]).toContainEqual([o.status, o.deployment_id]);
    }
    expect(outcomes.filter((o) => o.deployment_id === canaryId).length).toBeGreaterThan(20);
    const shown = await tenure("show", String(canaryId), "--json");
    expect(JSON.parse(shown.stdout)).toMatchObject({ deployment: { status: "rolled_back" } });
    const alerts = await tenure("alerts", "--json");
    const failed = JSON.parse(alerts.stdout).items.find(
      (a: { kind: string; deployment_id: number }) =>
        a.kind === "canary_failed" && a.deployment_id === canaryId,
    );
    expect(failed).toBeDefined();
    // Once dealt with, a person closes it: no sweep ever would.
    const resolved = await tenure(
      "alerts",
      "resolve",
      String(failed.id),
      "--note",
      "2.0.0's feature join fixed",
    );
    expect(resolved.stdout).toBe(`alert ${failed.id} (canary_failed, deployment ${canaryId}) resolved\n`);
    const open = JSON.parse((await tenure("alerts", "--state", "open", "--json")).stdout).items;
    expect(open.map((a: { id: number }) => a.id)).not.toContain(failed.id);
  }, 240_000);
});
