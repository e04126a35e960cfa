import { mkdirSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import type { DialectName } from "../../src/store/database.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { send } from "../support/gateway-client.js";
import { type GatewayProcess, startGatewayProcess } from "../support/gateway-process.js";
import { json, type ModelServer, startModelServer } from "../support/model-server.js";
import {
  deploymentIdIn,
  pollUntil,
  runTenure,
  type ServeProcess,
  startServe,
  tempDir,
} from "../support/process.js";

/** A model server that predicts `predict(i)` for a request body `{"i": i}`, always with 200. */
function modelServer(predict: (i: number) => string): Promise<ModelServer> {
  return startModelServer((received, res) =>
    json(res, 200, { prediction: predict((JSON.parse(received.body) as { i: number }).i) }),
  );
}

interface LabelFigures {
  counted: boolean;
  worse: boolean;
  test: string | null;
  reason: string;
  p_value: number | null;
  primary: { labelled: number; errors: number | null; error_rate: number | null };
  canary: { labelled: number; errors: number | null; error_rate: number | null };
}

interface CanaryJson {
  state: string;
  weight: number | null;
  failures: number;
  analyses: {
    verdict: string;
    action: string;
    reasons: string[];
    figures: {
      primary: { requests: number; errors: number };
      canary: { requests: number; errors: number };
      labels: LabelFigures | null;
    };
  }[];
}

const REQUESTS = 160;
type Mode = "database" | "registry";
// Both modes on SQLite; the gateway that opened the database on PostgreSQL too.
const modes: [DialectName, Mode][] = dialects().flatMap((dialect): [DialectName, Mode][] =>
  dialect === "sqlite"
    ? [
        [dialect, "database"],
        [dialect, "registry"],
      ]
    : [[dialect, "database"]],
);

/**
 * The whole path, labels only: two models behind `tenure gateway`, each with a canary answering
 * half its requests, every answer a 200 as fast as the primary's. Each canary predicts worse than
 * its primary. Labels arrive by request id (the Tenure-Request-Id each answer carried). The one
 * with enough labels is rolled back by its analysis on labels alone; the one with too few is left
 * as it was, its analyses saying the labels did not count.
 */
describe.concurrent.each(modes)(
  "labels weigh canaries behind tenure gateway on %s (--%s)",
  (dialect, mode) => {
    const dir = tempDir();
    let database: TestDatabase;
    let servers: ModelServer[] = [];
    let serve: ServeProcess | undefined;
    let gateway: GatewayProcess;
    let write = "";
    const ids = { fraud: { primary: 0, canary: 0 }, churn: { primary: 0, canary: 0 } };
    const tenure = (...args: string[]) => runTenure([...args, "--database", database.url], { cwd: dir.path });

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      // The primaries are always right ("fraud"); the canaries are wrong on every odd request.
      const right = await modelServer(() => "fraud");
      const worse = await modelServer((i) => (i % 2 === 0 ? "fraud" : "legit"));
      servers = [right, worse];
      expect((await tenure("init")).code).toBe(0);
      const common = ["--trained-through", "2026-10-01", "--team", "risk"];
      for (const model of ["fraud", "churn"] as const) {
        const first = await tenure("deploy", model, "1.0.0", ...common, "--endpoint", right.url);
        expect(first.code, first.stderr).toBe(0);
        ids[model].primary = deploymentIdIn(first.stdout);
        const canary = await tenure(
          "deploy",
          model,
          "2.0.0",
          ...common,
          "--endpoint",
          worse.url,
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
          // Latency on a shared machine is noise here: only labels may fail these canaries.
          "--max-p99-ratio",
          "100",
        );
        expect(canary.code, canary.stderr).toBe(0);
        ids[model].canary = deploymentIdIn(canary.stdout);
      }
      if (mode === "registry") {
        const created = await tenure("token", "create", "--scope", "write");
        expect(created.code, created.stderr).toBe(0);
        write = created.stdout.trim();
        serve = await startServe({ cwd: dir.path, database: database.url });
        gateway = await startGatewayProcess({
          cwd: dir.path,
          args: ["--registry", serve.url, "--token", write, "--flush-interval", "1s"],
        });
      } else {
        gateway = await startGatewayProcess({
          cwd: dir.path,
          args: ["--database", database.url, "--flush-interval", "1s"],
        });
      }
    }, 60_000);
    afterAll(async () => {
      await gateway?.stop();
      await serve?.stop();
      for (const server of servers) await server.close();
      await database?.drop();
      dir.remove();
    });

    /** Sends REQUESTS requests to a model; returns each answer's request id by the deployment that gave it. */
    async function traffic(model: string): Promise<Map<number, string[]>> {
      const by = new Map<number, string[]>();
      for (let i = 0; i < REQUESTS; i++) {
        const answer = await send(`${gateway.url}/${model}/predict`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ i }),
        });
        expect(answer.status).toBe(200);
        const id = Number(answer.headers["tenure-deployment-id"]);
        const requestId = String(answer.headers["tenure-request-id"]);
        by.set(id, [...(by.get(id) ?? []), requestId]);
      }
      return by;
    }

    /** Ground truth "fraud" for these request ids, the way the mode's users post it. */
    async function feedback(requestIds: string[]): Promise<void> {
      const items = requestIds.map((request_id) => ({ request_id, label: "fraud" }));
      if (serve) {
        const response = await fetch(`${serve.url}/v1/feedback`, {
          method: "POST",
          headers: { authorization: `Bearer ${write}`, "content-type": "application/json" },
          body: JSON.stringify({ items }),
        });
        expect(response.status, await response.text()).toBe(200);
        return;
      }
      const context = await openContext(database.url);
      try {
        await context.shadow.recordFeedback(items);
      } finally {
        await context.close();
      }
    }

    const view = async (model: string): Promise<CanaryJson> =>
      JSON.parse((await tenure("canary", model, "--json")).stdout) as CanaryJson;

    it("rolls back the canary labels show worse, leaves the one with too few labels alone", async () => {
      const fraud = await traffic("fraud");
      const churn = await traffic("churn");
      for (const [model, by] of [
        ["fraud", fraud],
        ["churn", churn],
      ] as const) {
        expect(by.get(ids[model].canary)?.length, `${model}'s canary answered`).toBeGreaterThan(40);
        expect(by.get(ids[model].primary)?.length, `${model}'s primary answered`).toBeGreaterThan(40);
      }
      // Every fraud request is labelled; of churn's canary, only 10 requests are.
      await feedback([...(fraud.get(ids.fraud.primary) ?? []), ...(fraud.get(ids.fraud.canary) ?? [])]);
      await feedback([
        ...(churn.get(ids.churn.primary) ?? []),
        ...(churn.get(ids.churn.canary) ?? []).slice(0, 10),
      ]);

      const rolledBack = await pollUntil(
        "the fraud canary rolled back",
        async () => {
          const shown = await view("fraud");
          return shown.state === "rolled_back" ? shown : undefined;
        },
        200_000,
        1_000,
      );
      const [failed] = rolledBack.analyses;
      expect(failed?.verdict).toBe("fail");
      // Labels alone: no errors on either side, and the only reason is the labels'.
      expect(failed?.figures.primary.errors).toBe(0);
      expect(failed?.figures.canary.errors).toBe(0);
      expect(failed?.reasons).toEqual([
        expect.stringMatching(
          /error rate .* against the primary's 0\.00%.*significantly worse: Fisher's exact test/,
        ),
      ]);
      const labels = failed?.figures.labels;
      expect(labels).toMatchObject({ counted: true, worse: true, test: "fisher_exact" });
      expect(labels?.primary).toMatchObject({ labelled: fraud.get(ids.fraud.primary)?.length, errors: 0 });
      expect(labels?.canary.labelled).toBe(fraud.get(ids.fraud.canary)?.length);
      expect(labels?.canary.error_rate).toBeGreaterThan(0.3);
      expect(labels?.p_value).toBeLessThan(1e-6);

      // Churn's canary was analysed in the same passes, with its 10 labels: they did not count.
      const left = await pollUntil(
        "an analysis of churn's canary with its labels",
        async () => {
          const shown = await view("churn");
          return shown.analyses.some((a) => a.figures.labels?.canary.labelled === 10) ? shown : undefined;
        },
        120_000,
        1_000,
      );
      expect(left).toMatchObject({ state: "running", weight: 50, failures: 0 });
      for (const a of left.analyses) {
        expect(a.verdict).not.toBe("fail");
        expect(a.figures.labels).toMatchObject({ counted: false, worse: false, p_value: null });
      }
      const counted = left.analyses.find((a) => a.figures.labels?.canary.labelled === 10);
      expect(counted?.figures.labels?.reason).toMatch(
        /too few labels to count: \d+ on the primary and 10 on the canary/,
      );

      // What a person reads: `tenure canary` with the label comparison in its table.
      const screen = await tenure("canary", "fraud");
      expect(screen.code, screen.stderr).toBe(0);
      expect(screen.stdout).toMatch(/LABELS/);
      expect(screen.stdout).toMatch(/Fisher p=.*worse/);
      const few = await tenure("canary", "churn");
      expect(few.stdout).toMatch(/not counted: 10\/\d+ labelled, min 30/);
      mkdirSync("test-results", { recursive: true });
      writeFileSync(
        `test-results/canary-labels-${dialect}-${mode}.txt`,
        `$ tenure canary fraud\n${screen.stdout}\n$ tenure canary churn\n${few.stdout}`,
      );
    }, 330_000);
  },
);
