import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BothPaths, startBothPaths } from "../support/both-paths.js";
import { expectOneLineFailure } from "../support/process.js";

const DEPLOY = ["deploy", "fraud", "1.0", "--trained-through", "2026-01-01", "--team", "risk"];
const CANARY = [
  "deploy",
  "fraud",
  "2.0",
  "--trained-through",
  "2026-06-01",
  "--team",
  "risk",
  "--role",
  "canary",
  "--steps",
  "10,25,50,100",
  "--sticky-header",
  "X-User",
  "--interval",
  "2m",
  "--min-requests",
  "500",
  "--max-error-rate-increase",
  "0.02",
];

describe("tenure deploy --role canary and tenure canary, opening the database or through TENURE_URL", {
  timeout: 120_000,
}, () => {
  let paths: BothPaths;
  const both = () => [paths.local, paths.remote];

  beforeAll(async () => {
    paths = await startBothPaths("admin");
    for (const run of both()) {
      const primary = await run(...DEPLOY);
      expect(primary.code, primary.stderr).toBe(0);
      const canary = await run(...CANARY);
      expect(canary.code, canary.stderr).toBe(0);
      expect(canary.stdout).toMatch(
        /as canary: deployment 2.*\n {2}it answers 10% of requests, analysed every 2m, promoted through 10 → 25 → 50 → 100 as analyses pass: tenure canary fraud\n$/,
      );
    }
  });
  afterAll(async () => {
    await paths?.stop();
  });

  it("shows the canary, its weight, steps and settings the same way on both paths", async () => {
    const [mine, theirs] = await Promise.all([
      paths.local("canary", "fraud"),
      paths.remote("canary", "fraud"),
    ]);
    expect(mine.code, mine.stderr).toBe(0);
    expect(theirs.stdout).toBe(mine.stdout);
    expect(mine.stdout).toContain("canary fraud 2.0 in production: deployment 2, running\n");
    expect(mine.stdout).toContain("  weight               10%, sticky by X-User\n");
    expect(mine.stdout).toContain("  steps                10 → 25 → 50 → 100 (step 1 of 4)\n");
    expect(mine.stdout).toContain("  analysis             every 2m, min 500 requests a side\n");
    expect(mine.stdout).toContain("no analysis yet");
  });

  it("prints the canary as JSON", async () => {
    for (const run of both()) {
      const result = await run("canary", "fraud", "--env", "production", "--json", "--limit", "5");
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({
        state: "running",
        weight: 10,
        steps: [10, 25, 50, 100],
        config: { interval_seconds: 120, min_requests: 500, max_error_rate_increase: 0.02, failure_limit: 3 },
        analyses: [],
      });
    }
  });

  it.each([
    [["--weight", "10"], /^--role must be canary to take canary settings/],
    [["--role", "canary", "--steps", "50,25"], /^--steps must be ascending$/],
    [["--role", "canary", "--steps", "10", "--weight", "20"], /^--weight must be the first of the steps$/],
    [
      ["--role", "canary", "--weight", "10", "--sticky-header", "X User"],
      /^--sticky-header must be an HTTP header name/,
    ],
  ])("refuses canary flags %j in one line with exit 2 either way", async (flags, message) => {
    const args = ["deploy", "fraud", "3.0", "--trained-through", "2026-06-01", "--team", "risk", ...flags];
    const [mine, theirs] = await Promise.all([paths.local(...args), paths.remote(...args)]);
    const line = expectOneLineFailure(mine, 2);
    expect(line.replace(/^tenure: /, "")).toMatch(message);
    expect(expectOneLineFailure(theirs, 2)).toBe(line);
  });

  it("refuses a weight or steps that are not percents before anything opens", async () => {
    for (const flags of [
      ["--weight", "150"],
      ["--steps", "10,x"],
      ["--interval", "soon"],
    ]) {
      const result = await paths.local("deploy", "fraud", "3.0", "--role", "canary", ...flags);
      expect(expectOneLineFailure(result, 2)).toMatch(/^tenure: (option '|--)/);
    }
  });

  it("says when a model has no canary there, and refuses a second running canary", async () => {
    for (const run of both()) {
      const none = await run("canary", "fraud", "--env", "staging");
      expect(expectOneLineFailure(none, 1)).toBe("tenure: fraud has no canary in staging");
      const unknown = await run("canary", "nope");
      expect(expectOneLineFailure(unknown, 1)).toBe("tenure: model nope does not exist");
      const bad = await run("canary", "Fraud");
      expect(expectOneLineFailure(bad, 2)).toMatch(/^tenure: MODEL must be a slug/);
      const second = await run(...CANARY.map((a) => (a === "2.0" ? "3.0" : a)));
      expect(expectOneLineFailure(second, 1)).toMatch(
        /fraud has a canary in production already \(deployment 2, running\)/,
      );
    }
  });
});
