import { afterAll, describe, expect, it } from "vitest";
import { openContext } from "../../src/context.js";
import { dialects } from "../support/databases.js";
import { runTenure, tempDir } from "../support/process.js";
import { contextForSuite, plantPoints, registerFleet } from "../support/seeding.js";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
describe.each(dialects())("pruning metric points (%s)", (dialect) => {
  const context = contextForSuite(dialect);

  it("deletes exactly the points measured before the cutoff, of every deployment across groups, and keeps the rest and every day's and hour's roll-up", async () => {
    // More deployments than one prune group (200), so the walk over groups is exercised.
    const ids = await registerFleet(context(), 450);
    const now = Date.now();
    await plantPoints(context(), ids, now, [500, 401, 399, 10, 0]);
    const groups: number[] = [];
    const deleted = await context().stores.metrics.prunePoints(now - 400 * DAY_MS, (n) => groups.push(n));
    expect(deleted).toBe(ids.length * 2);
    expect(groups).toHaveLength(3);
    expect(groups.reduce((a, b) => a + b, 0)).toBe(deleted);
    const { db } = context().database;
    const left = await db.selectFrom("metric_points").select(["deployment_id", "timestamp"]).execute();
    expect(left).toHaveLength(ids.length * 3);
    expect(left.every((p) => Number(p.timestamp) >= now - 400 * DAY_MS)).toBe(true);
    // A second prune finds nothing more.
    expect(await context().stores.metrics.prunePoints(now - 400 * DAY_MS)).toBe(0);
    // The days the pruned points fell in keep their roll-ups: daily windows still see all five.
    const windows = await context().stores.metrics.windowAggregates(ids.slice(0, 2), "auc", DAY_MS, now + 1);
    for (const id of ids.slice(0, 2)) {
      expect(windows.get(id)?.map((w) => w.samples)).toEqual([1, 1, 1, 1, 1]);
    }
    // And their hours theirs: hourly windows too.
    const hours = await context().stores.metrics.windowAggregates(ids.slice(0, 2), "auc", HOUR_MS, now + 1);
    for (const id of ids.slice(0, 2)) {
      expect(hours.get(id)?.map((w) => w.samples)).toEqual([1, 1, 1, 1, 1]);
    }
  });
});

describe("tenure prune as a process", { timeout: 60_000 }, () => {
  const cwd = tempDir();
  afterAll(() => cwd.remove());

  it("deletes metric points older than --metrics-older-than and says how many, keeping their days on the timeline; refuses a missing or too short retention", async () => {
    const database = `${cwd.path}/tenure.db`;
    const context = await openContext(database);
    const now = Date.now();
    let ids: number[];
    try {
      ids = await registerFleet(context, 3);
      await plantPoints(context, ids, now, [800, 450, 30]);
    } finally {
      await context.close();
    }
    const pruned = await runTenure(
      ["prune", "--metrics-older-than", "400d", "--database", database, "--json"],
      {
        cwd: cwd.path,
      },
    );
    expect(pruned.stderr).toBe("");
    expect(pruned.code).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ metric_points_deleted: 6 });

    const text = await runTenure(["prune", "--metrics-older-than", "20d", "--database", database], {
      cwd: cwd.path,
    });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^deleted 3 metric points measured before \d{4}-.*Z \(older than 20d\) from /,
    );

    // Every raw point is gone; the timeline still draws the three days from their roll-ups.
    const after = await openContext(database);
    try {
      const [auc] = (await after.lifecycle.timeline(ids[0] as number)).metrics;
      expect(auc?.name).toBe("auc");
      expect(auc?.windows.map((w) => w.samples)).toEqual([1, 1, 1]);
    } finally {
      await after.close();
    }

    const none = await runTenure(["prune", "--database", database], { cwd: cwd.path });
    expect(none.code).toBe(2);
    expect(none.stderr).toBe("tenure: say what to prune: --metrics-older-than 400d\n");
    const short = await runTenure(["prune", "--metrics-older-than", "2h", "--database", database], {
      cwd: cwd.path,
    });
    expect(short.code).toBe(2);
    const missing = await runTenure(
      ["prune", "--metrics-older-than", "400d", "--database", `${cwd.path}/nope.db`],
      {
        cwd: cwd.path,
      },
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/does not exist/);
  });
});
