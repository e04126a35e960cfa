import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import type { LabelledPair } from "../../src/core/compare/shadow-verdict.js";
import type { ShadowPair } from "../../src/gateway/traffic-report.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { deploymentIdIn, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";

/** SciPy's answers for labelled pairs (scripts/scipy-compare-reference.py), computed apart from this code. */
const scipy = JSON.parse(
  readFileSync(new URL("../../src/core/compare/fixtures/scipy-reference.json", import.meta.url), "utf8"),
) as { classification: Array<{ pairs: LabelledPair[]; b: number; c: number; p_value: number }> };

describe.each(dialects())(
  "`tenure shadow` on %s, opening the database and through TENURE_URL",
  { timeout: 120_000 },
  (dialect) => {
    let database: TestDatabase;
    let server: ServeProcess;
    let token: string;
    const dir = tempDir();
    const fixture = scipy.classification[2];
    if (!fixture) throw new Error("fixture missing");

    const local = (...args: string[]) => runTenure([...args, "--database", database.url], { cwd: dir.path });
    const remote = (...args: string[]) =>
      runTenure(args, { cwd: dir.path, env: { TENURE_URL: server.url, TENURE_TOKEN: token } });

    beforeAll(async () => {
      database = await createTestDatabase(dialect);
      const created = await runTenure(["token", "create", "--scope", "write", "--database", database.url], {
        cwd: dir.path,
      });
      expect(created.code, created.stderr).toBe(0);
      token = created.stdout.trim();
      server = await startServe({ cwd: dir.path, database: database.url });
      const ids: number[] = [];
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
          "http://127.0.0.1:9001",
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
          "http://127.0.0.1:9002",
        ],
      ]) {
        const done = await remote(...args);
        expect(done.code, done.stderr).toBe(0);
        ids.push(deploymentIdIn(done.stdout));
      }
      const [primaryId, shadowId] = ids as [number, number];
      // The pairs a gateway would report; written as the traffic ingestion will write them.
      const now = Date.now();
      const pairs: ShadowPair[] = fixture.pairs.map((p, i) => ({
        request_id: `req-${i}`,
        primary_id: primaryId,
        shadow_id: shadowId,
        at: now - 1000 + i,
        primary_prediction: p.primary_prediction,
        shadow_prediction: p.shadow_prediction,
        primary_status: 200,
        shadow_status: 200,
        primary_latency_ms: 12,
        shadow_latency_ms: 15,
      }));
      const context = await openContext(database.url);
      try {
        expect((await context.shadow.recordPairs(pairs)).recorded).toBe(pairs.length);
      } finally {
        await context.close();
      }
      const response = await fetch(`${server.url}/v1/feedback`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({
          items: fixture.pairs.map((p, i) => ({ request_id: `req-${i}`, label: p.label })),
        }),
      });
      expect(response.status).toBe(200);
    });
    afterAll(async () => {
      await server?.stop();
      await database?.drop();
      dir.remove();
    });

    it("both paths give the same comparison, with McNemar's p-value as SciPy computed it", async () => {
      const [mine, theirs] = await Promise.all([
        local("shadow", "fraud", "--json"),
        remote("shadow", "fraud", "--environment", "production", "--json"),
      ]);
      expect(mine.code, mine.stderr).toBe(0);
      expect(theirs.code, theirs.stderr).toBe(0);
      const view = JSON.parse(mine.stdout);
      expect(JSON.parse(theirs.stdout)).toEqual(view);
      const [shadow] = view.shadows;
      expect(shadow.model_version).toBe("2.0");
      expect(shadow.pairs).toBe(fixture.pairs.length);
      expect(shadow.labelled).toBe(fixture.pairs.length);
      expect(shadow.verdict.primary_right_candidate_wrong).toBe(fixture.b);
      expect(shadow.verdict.primary_wrong_candidate_right).toBe(fixture.c);
      expect(Math.abs(shadow.verdict.p_value - fixture.p_value) / fixture.p_value).toBeLessThanOrEqual(1e-10);
      expect(shadow.verdict.verdict).toBe("candidate_worse");
    });

    it("the human output ends each shadow with its verdict line, the same both ways", async () => {
      const [mine, theirs] = await Promise.all([local("shadow", "fraud"), remote("shadow", "fraud")]);
      expect(mine.code, mine.stderr).toBe(0);
      expect(theirs.stdout).toBe(mine.stdout);
      expect(mine.stdout).toMatch(/^fraud in production: primary 1\.0 \(deployment \d+\)$/m);
      expect(mine.stdout).toMatch(/^shadow 2\.0 \(deployment \d+\): 400 pairs, 400 labelled$/m);
      expect(mine.stdout).toMatch(/^ {2}latency p50\/p99 {2}primary 12 ms \/ 12 ms, shadow 15 ms \/ 15 ms$/m);
      expect(mine.stdout).toMatch(
        new RegExp(
          `^ {2}verdict {10}candidate_worse: McNemar's exact test gives p = \\S+ < 0\\.05 \\(primary right, candidate wrong ${fixture.b}; the reverse ${fixture.c}; accuracy`,
          "m",
        ),
      );
    });

    it("an environment with no shadow says so", async () => {
      const result = await local("shadow", "fraud", "--env", "staging");
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe("fraud in staging: no live primary\nno live shadow of fraud in staging\n");
    });
  },
);
