import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { send } from "../support/gateway-client.js";
import { type GatewayProcess, startGatewayProcess } from "../support/gateway-process.js";
import { json, startModelServer } from "../support/model-server.js";
import { pollUntil, runTenure, tempDir } from "../support/process.js";

/** A model server whose prediction is `predict(i)` for a request body `{"i": i}`. */
function modelServer(predict: (i: number) => string) {
  return startModelServer((received, res) =>
    json(res, 200, { prediction: predict((JSON.parse(received.body) as { i: number }).i) }),
  );
}

const REQUESTS = 40;

describe.each(dialects())(
  "`tenure gateway` mirrors to a shadow and `tenure shadow` judges it, on %s",
  { timeout: 120_000 },
  (dialect) => {
    let database: TestDatabase;
    let gateway: GatewayProcess;
    const dir = tempDir();
    let primary: Awaited<ReturnType<typeof modelServer>>;
    let shadow: Awaited<ReturnType<typeof modelServer>>;
    const tenure = (...args: string[]) => runTenure([...args, "--database", database.url], { cwd: dir.path });

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      // The primary always says "a"; the shadow says "b" from the tenth request on.
      primary = await modelServer(() => "a");
      shadow = await modelServer((i) => (i < 10 ? "a" : "b"));
      expect((await tenure("init")).code).toBe(0);
      for (const args of [
        [
          "deploy",
          "fraud",
          "1.0",
          "--trained-through",
          "2026-01-01",
          "--team",
          "risk",
          "--endpoint",
          primary.url,
        ],
        [
          "deploy",
          "fraud",
          "2.0",
          "--trained-through",
          "2026-02-01",
          "--team",
          "risk",
          "--role",
          "shadow",
          "--endpoint",
          shadow.url,
        ],
      ]) {
        const done = await tenure(...args);
        expect(done.code, done.stderr).toBe(0);
      }
      gateway = await startGatewayProcess({ cwd: dir.path, args: ["--database", database.url] });
    });
    afterAll(async () => {
      await gateway?.stop();
      await primary?.close();
      await shadow?.close();
      await database?.drop();
      dir.remove();
    });

    it("every user gets the primary's answer, the shadow sees each request once, and the verdict follows the labels", async () => {
      for (let i = 0; i < REQUESTS; i++) {
        const answer = await send(`${gateway.url}/fraud/predict`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-request-id": `r-${i}` },
          body: JSON.stringify({ i }),
        });
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body.toString())).toEqual({ prediction: "a" });
      }
      const view = async () => JSON.parse((await tenure("shadow", "fraud", "--json")).stdout);
      await pollUntil(
        "every pair recorded",
        async () => ((await view()).shadows[0].pairs === REQUESTS ? true : undefined),
        30_000,
        250,
      );
      expect(shadow.received.map((r) => r.headers)).toHaveLength(REQUESTS);
      expect(shadow.received.map((r) => r.headers).every((h) => h["tenure-shadow"] === "1")).toBe(true);
      expect(
        shadow.received
          .map((r) => r.headers)
          .map((h) => h["x-request-id"])
          .sort(),
      ).toEqual(Array.from({ length: REQUESTS }, (_, i) => `r-${i}`).sort());
      expect(primary.received.map((r) => r.headers).every((h) => h["tenure-shadow"] === undefined)).toBe(
        true,
      );

      // The truth is "b" throughout: the shadow is right on 30 requests the primary got wrong.
      const context = await openContext(database.url);
      try {
        await context.shadow.recordFeedback(
          Array.from({ length: REQUESTS }, (_, i) => ({ request_id: `r-${i}`, label: "b" })),
        );
      } finally {
        await context.close();
      }
      const [judged] = (await view()).shadows;
      expect(judged.agreement_rate).toBe(10 / REQUESTS);
      expect(judged.verdict).toMatchObject({
        verdict: "candidate_better",
        labelled: REQUESTS,
        primary_right_candidate_wrong: 0,
        primary_wrong_candidate_right: 30,
      });
      // By hand: b = 0, c = 30, so p = 2 · P(Bin(30, ½) ≤ 0) = 2 · 2⁻³⁰.
      expect(Math.abs(judged.verdict.p_value - 2 * 2 ** -30) / (2 * 2 ** -30)).toBeLessThanOrEqual(1e-10);
    });
  },
);
