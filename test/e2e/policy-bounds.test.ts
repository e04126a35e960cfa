import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { LEARNED_TTL_POLICIES as POLICIES, seedLearnedTtlFleet } from "../support/decay-fleet.js";
import { runTenure, tempDir } from "../support/process.js";
import { startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;

describe.each(dialects())("max_age: auto bounds edited between CLI runs on %s", (dialect) => {
  let t: TestApp | undefined;
  let dir: ReturnType<typeof tempDir> | undefined;
  afterEach(async () => {
    await t?.close();
    dir?.remove();
  });

  it("the CLI's local mode tells of the TTL the new bounds put in force, once, and policy explain shows it", async () => {
    dir = tempDir();
    const policies = join(dir.path, "policies.yaml");
    writeFileSync(policies, POLICIES);
    // The CLI reads the real clock: the fleet is seeded up to today.
    const today = Math.floor(Date.now() / DAY) * DAY;
    t = await startTestApp(dialect, { now: today - 50 * DAY, policies: POLICIES });
    const ids = await seedLearnedTtlFleet(t, today - 50 * DAY);
    const tenure = (...args: string[]) =>
      runTenure([...args, "--database", (t as TestApp).database.url, "--policies", policies], {
        cwd: (dir as ReturnType<typeof tempDir>).path,
      });
    const sweep = await tenure("sweep", "--no-deliver");
    expect(sweep.code, sweep.stderr).toBe(0);

    writeFileSync(policies, POLICIES.replace("max: 180d", "max: 20d"));
    const changes = async () => {
      const run = await tenure("policy", "explain", String(ids.second), "--json");
      expect(run.code, run.stderr).toBe(0);
      return JSON.parse(run.stdout).learned_ttl.changes;
    };
    const told = await changes();
    expect(told).toEqual([
      expect.objectContaining({ from_seconds: 60 * 86_400, to_seconds: 23 * 86_400, source: "learned" }),
      expect.objectContaining({
        from_seconds: 23 * 86_400,
        to_seconds: 20 * 86_400,
        source: "learned",
        reason: "bounds changed with no reload to record it: max 180d → 20d",
      }),
    ]);
    // The next run, and the next sweep, find it told.
    expect((await tenure("sweep", "--no-deliver")).code).toBe(0);
    expect(await changes()).toEqual(told);
    const text = await tenure("policy", "explain", String(ids.second));
    expect(text.stdout).toContain(
      "23d -> 20d (learned): bounds changed with no reload to record it: max 180d → 20d",
    );
  });
});
