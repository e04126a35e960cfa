import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cleanEnv, type RunResult, runTenure, tempDir } from "../support/process.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const EXAMPLES = join(ROOT, "examples");

/** What the header of each example's policy file says to set, with values of the right shape. */
const FRAUD_ENV = {
  RISK_SLACK_WEBHOOK: "https://hooks.slack.com/services/T0/B0/x",
  PD_ROUTING_KEY: "0123456789abcdef0123456789abcdef",
  PD_EVENTS_URL: "https://events.pagerduty.com/v2/enqueue",
  RETRAIN_DISPATCH_URL: "https://api.github.com/repos/acme/fraud/actions/workflows/retrain.yml/dispatches",
  RETRAIN_SECRET: "a-secret-of-24-characters",
  GH_TOKEN: "ghp_example",
};
const SEASONAL_ENV = { RECS_SLACK_WEBHOOK: "https://hooks.slack.com/services/T0/B0/y" };

/** Runs an example script as a user would: `node examples/…/replay.mjs` from the repository root. */
function runExample(script: string): Promise<RunResult> {
  return new Promise((done, fail) => {
    execFile(
      process.execPath,
      [join(EXAMPLES, script)],
      { cwd: ROOT, env: cleanEnv(), timeout: 55_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") {
          fail(new Error(`${script} did not finish: ${error.message}\n${stdout}\n${stderr}`));
          return;
        }
        done({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

describe.concurrent("the examples", { timeout: 60_000 }, () => {
  it("the fraud replay exits 0: due reaches Slack and the retraining webhook, day 26 is quiet, expiry pages, supersession resolves the page", async () => {
    const result = await runExample("fraud-detection/replay.mjs");
    const out = result.stdout;
    expect(result.code, `${out}\n${result.stderr}`).toBe(0);
    expect(out).toMatch(
      /slack +<- trigger due: fraud-gbm 3\.2\.0 in production is due for review: 25d of 30d \(83%\)/,
    );
    expect(out).toMatch(
      /webhook +<- dispatch trigger: workflow_dispatch ref=main model=fraud-gbm version=3\.2\.0 \(signature ok/,
    );
    expect(out).toMatch(/^ {2}26 +- +nothing$/m);
    const trigger = /pagerduty <- trigger expired: dedup_key=(\S+) severity=error/.exec(out)?.[1];
    const resolved = /pagerduty <- resolve: dedup_key=(\S+)/.exec(out)?.[1];
    expect(trigger).toBeDefined();
    expect(resolved).toBe(trigger);
    expect(out).toMatch(/slack +<- resolve expired \(superseded\)/);
    expect(out).toContain("ok: every channel heard exactly what was expected");
  });

  it("the seasonal replay exits 0: three promotions, a cancelled one, and a rollback to the golden version on the 100th day", async () => {
    const result = await runExample("seasonal-recommendations/replay.mjs");
    const out = result.stdout;
    expect(result.code, `${out}\n${result.stderr}`).toBe(0);
    expect(out.match(/; 1 promotion\(s\)/g)).toHaveLength(3);
    expect(out).toMatch(/retired +\d{4}\.winter .*cancelled_promotion=true/);
    expect(out).toMatch(/slack <- recs-seasonal \d{4}\.autumn in production is due for review: 90d of 100d/);
    expect(out).toMatch(/slack <- Resolved: .*\d{4}\.autumn .*\(rolled_back\)/);
    // The rollback's sweep counts what its transaction did: the due and expired alerts resolved, three notices.
    expect(out).toMatch(
      /sweep 5 at .*; alerts 1 opened, 2 resolved; 3 notification\(s\); 1 retired or rolled back on policy/,
    );
    // The stage, then HEALTH and VERDICT: none for an ended deployment.
    expect(out).toMatch(/^ +\d+ +recs-seasonal +\d{4}\.autumn +production .* rolled_back +- +-$/m);
    expect(out).toMatch(/^ +\d+ +recs-seasonal +\d{4}\.evergreen +production .* fresh +[\d.]+ +keep$/m);
    expect(out).toContain("ok: every deployment is where the seasons put it");
  });

  it("both policy files pass tenure policy check with the variables their headers list, and name each one missing", async ({
    onTestFinished,
  }) => {
    const cwd = tempDir();
    onTestFinished(() => cwd.remove());
    const fraud = join(EXAMPLES, "fraud-detection/policies.yaml");
    const seasonal = join(EXAMPLES, "seasonal-recommendations/policies.yaml");
    const [fraudOk, seasonalOk, bare] = await Promise.all([
      runTenure(["policy", "check", fraud], { cwd: cwd.path, env: FRAUD_ENV }),
      runTenure(["policy", "check", seasonal], { cwd: cwd.path, env: SEASONAL_ENV }),
      runTenure(["policy", "check", fraud], { cwd: cwd.path }),
    ]);
    expect(fraudOk, fraudOk.stderr).toMatchObject({
      code: 0,
      stdout: `${fraud}: 1 policy, 3 channels: ok\n`,
    });
    expect(seasonalOk, seasonalOk.stderr).toMatchObject({
      code: 0,
      stdout: `${seasonal}: 1 policy, 1 channel: ok\n`,
    });
    expect(bare.code).toBe(1);
    const missing = [...bare.stderr.matchAll(/environment variable (\w+) is not set/g)].map((m) => m[1]);
    expect(missing.sort()).toEqual(Object.keys(FRAUD_ENV).sort());
  });

  it("the CI workflow is valid YAML that fails on expired and only warns on due, against a server from secrets", () => {
    const workflow = parse(readFileSync(join(EXAMPLES, "ci/tenure-gate.yml"), "utf8"));
    const job = Object.values(workflow.jobs as Record<string, Record<string, unknown>>)[0];
    // GitHub expressions, matched as patterns: `${{ … }}` in a string literal reads as a slip.
    expect(job?.env).toMatchObject({
      TENURE_URL: expect.stringMatching(/^\$\{\{ secrets\.TENURE_URL \}\}$/),
      TENURE_TOKEN: expect.stringMatching(/^\$\{\{ secrets\.TENURE_TOKEN \}\}$/),
    });
    const steps = job?.steps as { run?: string; "continue-on-error"?: boolean }[];
    const gate = steps.find((s) => s.run?.includes("tenure check") && s.run.includes("--fail-on expired"));
    const warning = steps.find((s) => s.run?.includes("tenure check") && s.run.includes("--fail-on due"));
    expect(gate).toBeDefined();
    expect(gate?.["continue-on-error"]).toBeUndefined();
    expect(warning?.["continue-on-error"]).toBe(true);
  });
});
