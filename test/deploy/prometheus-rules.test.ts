import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { hasExternalTool } from "../support/external-tool.js";

const PROMTOOL = "/usr/bin/promtool";
const RULES_DIR = resolve(import.meta.dirname, "../../deploy/prometheus");

interface PromtoolResult {
  code: number;
  output: string;
}

/** Runs promtool in the rules' folder, where the test file names its rule file. */
function promtool(...args: string[]): Promise<PromtoolResult> {
  return new Promise((done) => {
    execFile(PROMTOOL, args, { cwd: RULES_DIR, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
      done({ code, output: `${stdout}${stderr}` });
    });
  });
}

interface AlertRuleTest {
  alertname: string;
  eval_time: string;
  exp_alerts?: unknown[];
}

const rules = parse(readFileSync(resolve(RULES_DIR, "tenure-rules.yml"), "utf8")) as {
  groups: Array<{ rules: Array<{ alert?: string; record?: string }> }>;
};
const tests = parse(readFileSync(resolve(RULES_DIR, "tenure-rules.test.yml"), "utf8")) as {
  tests: Array<{ alert_rule_test?: AlertRuleTest[]; promql_expr_test?: Array<{ expr: string }> }>;
};
const alertNames = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));
const recordNames = rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : [])));
const alertTests = tests.tests.flatMap((t) => t.alert_rule_test ?? []);

describe.skipIf(!hasExternalTool(PROMTOOL, "apt-get install prometheus"))(
  "deploy/prometheus/tenure-rules.yml under promtool",
  () => {
    it("passes promtool check rules", async () => {
      const result = await promtool("check", "rules", "tenure-rules.yml");
      expect(result, result.output).toMatchObject({ code: 0 });
      expect(result.output).toContain(`SUCCESS: ${alertNames.length + recordNames.length} rules found`);
    });

    it("passes its promtool unit tests (tenure-rules.test.yml)", async () => {
      const result = await promtool("test", "rules", "tenure-rules.test.yml");
      expect(result, result.output).toMatchObject({ code: 0 });
      expect(result.output).toContain("SUCCESS");
    });
  },
);

describe("the promtool unit tests cover every rule", () => {
  it.each(alertNames)("%s has a test where it fires and one where it stays quiet", (alert) => {
    const mine = alertTests.filter((t) => t.alertname === alert);
    expect(mine.filter((t) => (t.exp_alerts ?? []).length > 0).length).toBeGreaterThan(0);
    expect(mine.filter((t) => (t.exp_alerts ?? []).length === 0).length).toBeGreaterThan(0);
  });

  it("every recording rule is evaluated by a promql_expr_test", () => {
    const tested = tests.tests.flatMap((t) => (t.promql_expr_test ?? []).map((e) => e.expr)).join("\n");
    expect(recordNames.length).toBeGreaterThan(0);
    expect(recordNames.filter((name) => !tested.includes(name))).toEqual([]);
  });
});
