import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { lines, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";

const DAY = 86_400_000;
const ACTOR = { name: "test", key_scope: "test", team: null };

/** fraud-gbm is judged on accuracy, and its data may be 60 days old at most. */
const POLICIES = `
policies:
  - name: fraud
    match: { model: fraud-gbm }
    max_data_age: 60d
    performance: { metric: accuracy, target: 0.85, min_samples: 100 }
`;

/** The UTC date of an instant, `2026-11-20`: a cutoff at midnight. */
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

describe.each(dialects())("`tenure gate` as a process on %s", { timeout: 120_000 }, (dialect) => {
  const dir = tempDir();
  const policies = join(dir.path, "policies.yaml");
  let database: TestDatabase;
  let primaryId: number;
  const now = Date.now();
  /** The primary learned from data up to 40 days ago; the candidate from data up to 5 days ago. */
  const primaryCutoff = Date.parse(dayOf(now - 40 * DAY));
  const candidateCutoff = dayOf(now - 5 * DAY);

  /** Writes a candidate.json into the test's folder and returns its name there. */
  const file = (name: string, content: unknown) => {
    writeFileSync(join(dir.path, name), typeof content === "string" ? content : JSON.stringify(content));
    return name;
  };
  const gate = (...args: string[]) =>
    runTenure(["gate", "fraud-gbm", ...args, "--database", database.url, "--policies", policies], {
      cwd: dir.path,
    });
  const good = () =>
    file("candidate.json", {
      model_version: "3.3.0",
      training_data_cutoff: candidateCutoff,
      sample_size: 5000,
      metrics: { accuracy: 0.93 },
      // A pipeline writes what it likes beside what the gate reads.
      run_id: "a1b2c3",
    });

  beforeAll(async () => {
    writeFileSync(policies, POLICIES);
    database = await createTestDatabase(dialect);
    const context = await openContext(database.url, { policies });
    try {
      const primary = await context.registry.register(
        {
          model: "fraud-gbm",
          model_version: "3.2.0",
          training_data_cutoff: new Date(primaryCutoff).toISOString(),
          owner_team: "risk",
          environment: "production",
          role: "primary",
          deployment_date: new Date(now - 10 * DAY).toISOString(),
        },
        ACTOR,
      );
      primaryId = primary.deployment.id;
      // The three days before today, at 0.9, 0.91 and 0.905 on 2,000 labels each.
      await context.lifecycle.recordMetrics(
        primaryId,
        ACTOR,
        [0.9, 0.91, 0.905].map((value, i) => ({
          name: "accuracy",
          value,
          sample_size: 2000,
          timestamp: now - (3 - i) * DAY,
        })),
      );
    } finally {
      await context.close();
    }
  });
  afterAll(async () => {
    await database?.drop();
    dir.remove();
  });

  it("promotes a candidate that beats the primary: exit 0, one ✓ line per check with its numbers", async () => {
    const result = await gate("--candidate", "3.3.0", "--metrics", good());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    const out = lines(result.stdout);
    expect(out[0]).toBe(
      `fraud-gbm 3.3.0 against the primary 3.2.0 (deployment ${primaryId}) in production, policy fraud`,
    );
    expect(out[1]).toMatch(
      /^ {2}✓ accuracy 0\.93 against the primary's 0\.905 \(3 windows, 6000 samples\): better by 0\.025, at least the 0\.005 required; Fisher's exact test on 4650 of 5000 against 5430 of 6000 gives p = \S+ < 0\.05$/,
    );
    expect(out[2]).toBe(
      `  ✓ trained through ${candidateCutoff}, 35d after the primary's ${dayOf(primaryCutoff)}`,
    );
    expect(out[3]).toMatch(/^ {2}✓ data age [45]d, within the 60d max_data_age of policy fraud$/);
    expect(out[4]).toBe("promote fraud-gbm 3.3.0 in production: it beats 3.2.0 on every check");
    expect(out).toHaveLength(5);
    if (dialect === "sqlite")
      capture("gate-promote.txt", "--candidate 3.3.0 --metrics candidate.json", result);
  });

  it("--json prints {decision, checks} and exits as the decision says", async () => {
    const promote = await gate("--candidate", "3.3.0", "--metrics", good(), "--json");
    expect(promote.code, promote.stderr).toBe(0);
    const decision = JSON.parse(promote.stdout);
    expect(decision).toMatchObject({ decision: "promote", policy: "fraud", min_improvement: 0.005 });
    expect(decision.checks.map((c: { kind: string }) => c.kind)).toEqual([
      "metric",
      "training_data_cutoff",
      "data_age",
    ]);
    const block = await gate(
      "--candidate",
      "3.3.0",
      "--metrics",
      good(),
      "--json",
      "--min-improvement",
      "0.05",
    );
    expect(block.code).toBe(1);
    expect(JSON.parse(block.stdout)).toMatchObject({
      decision: "block",
      checks: [expect.objectContaining({ kind: "metric", status: "fail" }), {}, {}],
    });
    expect(block.stderr).toBe("tenure: blocked: the checks marked ✗ failed\n");
  });

  it("blocks a candidate no better than the margin: exit 1, its line marked ✗ with the numbers", async () => {
    const result = await gate(
      "--candidate",
      "3.3.0",
      "--metrics",
      file("close.json", {
        training_data_cutoff: candidateCutoff,
        sample_size: 5000,
        metrics: { accuracy: 0.907 },
      }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^ {2}✗ accuracy 0\.907 against the primary's 0\.905 .*better by 0\.002, less than the 0\.005 required/m,
    );
    expect(lines(result.stdout).at(-1)).toBe(
      "block fraud-gbm 3.3.0 in production: 1 of 3 checks failed (accuracy)",
    );
    expect(result.stderr).toBe("tenure: blocked: the checks marked ✗ failed\n");
    if (dialect === "sqlite") capture("gate-block.txt", "--candidate 3.3.0 --metrics close.json", result);
  });

  it("blocks a candidate better by the margin on too few observations to be significant", async () => {
    const result = await gate(
      "--candidate",
      "3.3.0",
      "--metrics",
      file("few.json", {
        training_data_cutoff: candidateCutoff,
        metrics: { accuracy: { value: 0.93, sample_size: 80 } },
      }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /✗ accuracy 0\.93 .*Fisher's exact test on 74 of 80 against 5430 of 6000 gives p = \S+ ≥ 0\.05$/m,
    );
  });

  it("blocks a candidate trained on data no newer than the primary's", async () => {
    const older = dayOf(primaryCutoff - 2 * DAY);
    const result = await gate(
      "--candidate",
      "3.3.0",
      "--metrics",
      file("older.json", { training_data_cutoff: older, sample_size: 5000, metrics: { accuracy: 0.93 } }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`  ✗ trained through ${older}, not after the primary's`);
    expect(lines(result.stdout).at(-1)).toMatch(
      /2 of 3 checks failed|1 of 3 checks failed \(training data\)/,
    );
  });

  it("blocks a candidate whose data is past the policy's max_data_age, even with no primary to beat", async () => {
    const stale = dayOf(now - 70 * DAY);
    const result = await gate(
      "--candidate",
      "3.3.0",
      "--env",
      "staging",
      "--metrics",
      file("stale.json", { training_data_cutoff: stale, metrics: { accuracy: 0.93 } }),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^ {2}✗ data age 70d, past the 60d max_data_age of policy fraud$/m);
  });

  it("with --require-shadow, blocks a candidate with no shadow or canary verdict", async () => {
    const result = await gate("--candidate", "3.3.0", "--metrics", good(), "--require-shadow");
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      "  ✗ no live shadow or canary of 3.3.0 in production holds a verdict against the primary",
    );
  });

  it("with no live primary there is nothing to beat: exit 0 with a note, the data age still checked", async () => {
    const result = await gate(
      "--candidate",
      "3.3.0",
      "--metrics",
      good(),
      "--env",
      "staging",
      "--require-shadow",
    );
    expect(result.code, result.stderr).toBe(0);
    expect(lines(result.stdout)).toEqual([
      "fraud-gbm 3.3.0 with no live primary in staging, policy fraud",
      "  ✓ accuracy 0.93: no live primary in staging, nothing to beat",
      `  ✓ trained through ${candidateCutoff}; no live primary in staging to be newer than`,
      expect.stringMatching(/^ {2}✓ data age [45]d, within the 60d max_data_age of policy fraud$/),
      "  ✓ no live primary in staging to compare with: no verdict needed",
      "promote fraud-gbm 3.3.0 in staging: no live primary to beat, and its data is within policy",
    ]);
  });

  it.each([
    [
      "a missing file",
      ["--metrics", "missing.json"],
      "tenure: --metrics missing.json cannot be read (ENOENT)",
    ],
    [
      "a file that is not JSON",
      ["--metrics", "broken.json"],
      /^tenure: --metrics broken\.json is not JSON: /,
    ],
    ["a file without metrics", ["--metrics", "empty.json"], "tenure: empty.json: metrics is required"],
    [
      "a metric that is not a number",
      ["--metrics", "word.json"],
      "tenure: word.json: metrics.accuracy must be a number, or an object with the number as value",
    ],
    [
      "a file of another version",
      ["--metrics", "other.json"],
      "tenure: other.json: model_version is 3.4.0, not --candidate 3.3.0",
    ],
    [
      "a file without the metric the policy judges",
      ["--metrics", "recall.json"],
      "tenure: recall.json: metrics.accuracy is required: policy fraud judges it",
    ],
    [
      "an unregistered version without a cutoff",
      ["--metrics", "nocutoff.json"],
      "tenure: nocutoff.json: training_data_cutoff is required: version 3.3.0 is not registered, so the figures must say it",
    ],
    [
      "a negative margin",
      ["--metrics", "candidate.json", "--min-improvement", "-1"],
      /^tenure: .*--min-improvement must be a number, 0 or more/,
    ],
  ])("refuses %s: exit 2 and one line naming the field", async (_what, args, message) => {
    good();
    file("broken.json", "{ not json");
    file("empty.json", {});
    file("word.json", { metrics: { accuracy: "high" } });
    file("other.json", { model_version: "3.4.0", metrics: { accuracy: 0.93 } });
    file("recall.json", {
      training_data_cutoff: candidateCutoff,
      metrics: { recall: { value: 0.8, direction: "higher" } },
    });
    file("nocutoff.json", { metrics: { accuracy: 0.93 } });
    const result = await gate("--candidate", "3.3.0", ...args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    const errors = lines(result.stderr);
    expect(errors).toHaveLength(1);
    if (typeof message === "string") expect(errors[0]).toBe(message);
    else expect(errors[0]).toMatch(message);
  });

  it("refuses an unknown model with exit 1: a typo is not 'nothing to beat'", async () => {
    const result = await runTenure(
      ["gate", "fraud-gmb", "--candidate", "3.3.0", "--metrics", good(), "--database", database.url],
      { cwd: dir.path },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("tenure: model fraud-gmb does not exist\n");
  });

  describe("through TENURE_URL, with a read token", () => {
    let server: ServeProcess;
    let token: string;
    const remote = (...args: string[]) =>
      runTenure(["gate", "fraud-gbm", ...args], {
        cwd: dir.path,
        env: { TENURE_URL: server.url, TENURE_TOKEN: token },
      });

    beforeAll(async () => {
      const created = await runTenure(["token", "create", "--scope", "read", "--database", database.url], {
        cwd: dir.path,
      });
      expect(created.code, created.stderr).toBe(0);
      token = created.stdout.trim();
      server = await startServe({
        cwd: dir.path,
        database: database.url,
        extraArgs: ["--policies", policies],
      });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("gives the decision the database gives, in the same words", async () => {
      const [mine, theirs] = await Promise.all([
        gate("--candidate", "3.3.0", "--metrics", good(), "--json"),
        remote("--candidate", "3.3.0", "--metrics", good(), "--json"),
      ]);
      expect(theirs.code, theirs.stderr).toBe(0);
      const local = JSON.parse(mine.stdout);
      const served = JSON.parse(theirs.stdout);
      // The data age is counted in seconds at each side's own moment.
      for (const d of [local, served]) d.checks[2].data_age_seconds = 0;
      expect(served).toEqual(local);
      const blocked = await remote("--candidate", "3.3.0", "--metrics", good(), "--require-shadow");
      expect(blocked.code).toBe(1);
      expect(blocked.stdout).toContain("✗ no live shadow or canary of 3.3.0 in production");
    });

    it("names the file's field when the server refuses it", async () => {
      file("recall.json", {
        training_data_cutoff: candidateCutoff,
        metrics: { recall: { value: 0.8, direction: "higher" } },
      });
      const result = await remote("--candidate", "3.3.0", "--metrics", "recall.json");
      expect(result.code).toBe(2);
      expect(result.stderr).toBe(
        "tenure: recall.json: metrics.accuracy is required: policy fraud judges it\n",
      );
    });
  });
});

/** Keeps what a person sees of `tenure gate` under test-results/terminal, to look at. */
function capture(
  name: string,
  args: string,
  result: { code: number | null; stdout: string; stderr: string },
) {
  const folder = join(import.meta.dirname, "../../test-results/terminal");
  mkdirSync(folder, { recursive: true });
  const shown = `$ tenure gate fraud-gbm ${args}\n${result.stdout}${result.stderr}(exit ${result.code})\n`;
  writeFileSync(join(folder, name), shown);
}
