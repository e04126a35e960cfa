import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTenure, tempDir } from "../support/process.js";

describe("tenure policy check", () => {
  let dir: ReturnType<typeof tempDir>;
  beforeAll(() => {
    dir = tempDir();
    writeFileSync(
      join(dir.path, "good.yaml"),
      `channels:\n  slack: { type: slack, url: "\${SLACK_URL}" }\npolicies:\n  - name: fraud\n    match: { model: "fraud-*" }\n    max_age: 30d\n    notify: { due: [slack] }\n`,
    );
    writeFileSync(
      join(dir.path, "bad.yaml"),
      "policies:\n  - name: a\n    max_age: 30 days\n    review_at: 2\n",
    );
  });
  afterAll(() => dir.remove());

  it("accepts a valid file, reading environment variables into it, and exits 0", async () => {
    const result = await runTenure(["policy", "check", "good.yaml"], {
      cwd: dir.path,
      env: { SLACK_URL: "https://hooks.slack.example/T/B/X" },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("good.yaml: 1 policy, 1 channel: ok\n");
  });

  it("prints every error as FILE:LINE:COLUMN and exits 1", async () => {
    const result = await runTenure(["policy", "check", "bad.yaml"], { cwd: dir.path });
    expect(result.code).toBe(1);
    const errors = result.stderr.split("\n").filter((line) => line.startsWith("bad.yaml:"));
    expect(errors).toEqual([
      "bad.yaml:3:14: policies.0.max_age: must be a duration such as 90d, 36h, 2w (units s m h d w), of at most 1000 years, or auto",
      "bad.yaml:4:16: policies.0.review_at: must be at most 1",
    ]);
  });

  it("refuses a missing variable and a missing file with one line each", async () => {
    const missingVar = await runTenure(["policy", "check", "good.yaml"], { cwd: dir.path });
    expect(missingVar.code).toBe(1);
    expect(missingVar.stderr).toContain("good.yaml:2:30: environment variable SLACK_URL is not set");
    const missingFile = await runTenure(["policy", "check", "nope.yaml"], { cwd: dir.path });
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toBe("tenure: nope.yaml does not exist\n");
  });
});
