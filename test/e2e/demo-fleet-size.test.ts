import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runTenure, tempDir } from "../support/process.js";

interface Listed {
  model: string;
  environment: string;
  owner_team: string;
  role: string;
  age: { stage: string | null };
}

describe("tenure demo --fleet-size", { timeout: 120_000 }, () => {
  let cwd: ReturnType<typeof tempDir>;
  beforeAll(() => {
    cwd = tempDir();
  });
  afterAll(() => cwd.remove());

  it("fills the demo fleet up to that many live deployments, across teams, environments and stages, none superseding another", async () => {
    const seeded = await runTenure(["demo", "--seed-only", "--database", "big.db", "--fleet-size", "700"], {
      cwd: cwd.path,
      timeoutMs: 90_000,
    });
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stderr).toBe("");
    const listed = await runTenure(["ls", "--json", "--limit", "1000", "--database", "big.db"], {
      cwd: cwd.path,
      env: { TENURE_POLICIES: `${cwd.path}/big-policies.yaml` },
    });
    expect(listed.code, listed.stderr).toBe(0);
    const items = JSON.parse(listed.stdout).items as Listed[];
    expect(items).toHaveLength(700);
    expect(new Set(items.map((d) => `${d.model} ${d.environment} ${d.role}`)).size).toBe(700);
    expect(new Set(items.map((d) => d.owner_team)).size).toBeGreaterThanOrEqual(6);
    expect(new Set(items.map((d) => d.environment)).size).toBeGreaterThanOrEqual(3);
    expect(new Set(items.map((d) => d.age.stage))).toEqual(new Set(["fresh", "due", "expired"]));
  });

  it("refuses a size that is not a whole number, in one line", async () => {
    const refused = await runTenure(["demo", "--seed-only", "--database", "bad.db", "--fleet-size", "lots"], {
      cwd: cwd.path,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split("\n")).toHaveLength(1);
    expect(refused.stderr).toContain("--fleet-size must be a whole number");
  });
});
