import type { KyselyPlugin } from "kysely";
import { describe, expect, it } from "vitest";
import { SqlForecastStore } from "../../src/store/forecast-store.js";
import { SqlMetricStore } from "../../src/store/metric-store.js";
import type { DeploymentRow, NewDeploymentRow } from "../../src/store/schema.js";
import { dialects, freshStoresEach } from "../support/databases.js";

const T0 = Date.parse("2027-01-01T00:00:00.000Z");

describe.each(dialects())("a sweep's verdicts written in batches (%s)", (dialect) => {
  const fresh = freshStoresEach(dialect);

  /** `count` live primaries of one model, one environment each. */
  async function deployments(count: number): Promise<DeploymentRow[]> {
    const db = fresh.database().db;
    await db.insertInto("models").values({ name: "fraud", owner_team: "risk", created_at: T0 }).execute();
    await db
      .insertInto("model_versions")
      .values({ model: "fraud", model_version: "1", training_data_cutoff: T0, created_at: T0 })
      .execute();
    const rows = Array.from(
      { length: count },
      (_, i): NewDeploymentRow => ({
        model: "fraud",
        model_version: "1",
        environment: `region-${i}`,
        owner_team: "risk",
        role: "primary",
        status: "active",
        deployment_date: T0 + i,
        training_data_cutoff: T0,
        tags: "{}",
        ttl_extension_seconds: 0,
        created_at: T0,
        created_by: "test",
      }),
    );
    return fresh.stores().deployments.insertDeployments(rows);
  }

  /** Stores bound to an executor that counts the statements they run. */
  function counted() {
    const statements: string[] = [];
    const counting: KyselyPlugin = {
      transformQuery: ({ node }) => {
        statements.push(node.kind);
        return node;
      },
      transformResult: async ({ result }) => result,
    };
    const database = fresh.database();
    const executor = database.db.withPlugin(counting);
    return {
      statements,
      forecasts: new SqlForecastStore(database, executor),
      metrics: new SqlMetricStore(database, executor),
    };
  }

  const byId = async (ids: number[]) =>
    new Map((await fresh.stores().deployments.findDeployments(ids)).map((row) => [row.id, row]));

  it("writes each deployment's forecast text, JSON and null alike, exactly, 1,000 deployments a statement", async () => {
    const rows = await deployments(1200);
    const texts = [
      '{"reason":"auc does not decay with age","computed_at":1}',
      '{"metric":"auc","breach_at":1798761600000,"low_at":1.5e12,"high_at":null,"slope_per_day":-0.00012,"based_on_deployments":3,"based_on_windows":40,"computed_at":1798000000000}',
      '{"reason":"a \\"quoted\\" word, a back\\\\slash, {braces}, commas, and ünïcödé ✓","computed_at":2}',
      "NULL",
      "",
      "{}",
      "[1,2]",
    ];
    const { statements, forecasts } = counted();
    // Every deployment but the first is given a forecast, then every seventh is cleared again.
    await forecasts.setForecasts(
      rows.slice(1).map((row, i) => ({ id: row.id, forecast: texts[i % texts.length] ?? null })),
    );
    const updates = rows.map((row, i) => ({
      id: row.id,
      forecast: i % 7 === 0 ? null : (texts[i % texts.length] ?? null),
    }));
    await forecasts.setForecasts(updates.slice(0, 1100));
    expect(statements).toEqual(["RawNode", "RawNode", "RawNode", "RawNode"]);
    const stored = await byId(rows.map((row) => row.id));
    for (const [i, update] of updates.entries()) {
      // The last hundred kept the text of the first write.
      const expected = i < 1100 ? update.forecast : (texts[(i - 1) % texts.length] ?? null);
      expect(stored.get(update.id)?.forecast, `deployment ${i}`).toBe(expected);
    }
  });

  it("writes each deployment's performance state, since and drop exactly, nulls included, and leaves the others", async () => {
    const rows = await deployments(6);
    const { statements, metrics } = counted();
    const ids = rows.map((row) => row.id);
    const updates = [
      { id: ids[0] ?? 0, state: "ok", ok_since: T0 + 123, drop: 0.123457 },
      { id: ids[1] ?? 0, state: "degraded", ok_since: null, drop: -1 / 3 },
      { id: ids[2] ?? 0, state: null, ok_since: null, drop: null },
      { id: ids[3] ?? 0, state: "insufficient_data", ok_since: 8_640_000_000_000, drop: 5e-324 },
      { id: ids[4] ?? 0, state: "ok", ok_since: 0, drop: 1.7976931348623157e308 },
    ];
    await metrics.setPerformance([
      { id: ids[2] ?? 0, state: "ok", ok_since: T0, drop: 0.5 },
      { id: ids[5] ?? 0, state: "ok", ok_since: T0, drop: 0.25 },
    ]);
    await metrics.setPerformance(updates);
    await metrics.setPerformance([]);
    expect(statements).toEqual(["RawNode", "RawNode"]);
    const stored = await byId(ids);
    for (const u of updates) {
      const row = stored.get(u.id);
      expect(
        { state: row?.performance_state, ok_since: row?.performance_ok_since, drop: row?.performance_drop },
        `deployment ${u.id}`,
      ).toEqual({ state: u.state, ok_since: u.ok_since, drop: u.drop });
    }
    expect(stored.get(ids[5] ?? 0)).toMatchObject({
      performance_state: "ok",
      performance_ok_since: T0,
      performance_drop: 0.25,
      forecast: null,
    });
  });

  it("reads back every double it wrote, exactly", async () => {
    const rows = await deployments(500);
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const drops = rows.map((_, i) =>
      i % 2 === 0
        ? Math.round(random() * 1e6) / 1e6
        : (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20),
    );
    await fresh
      .stores()
      .metrics.setPerformance(
        rows.map((row, i) => ({ id: row.id, state: "ok", ok_since: T0, drop: drops[i] ?? null })),
      );
    const stored = await byId(rows.map((row) => row.id));
    expect(rows.map((row) => stored.get(row.id)?.performance_drop)).toEqual(drops);
  });
});
