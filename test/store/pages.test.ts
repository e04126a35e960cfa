import { beforeAll, describe, expect, it } from "vitest";
import { seededRandom } from "../../src/core/reservoir.js";
import type { Database } from "../../src/store/database.js";
import { pageShape } from "../../src/store/page-filter.js";
import type { DeploymentPage } from "../../src/store/page-store.js";
import type { DeploymentRow } from "../../src/store/schema.js";
import type { Stores } from "../../src/store/stores.js";
import { dialects } from "../support/databases.js";
import { newRow, registryFor, T0 } from "../support/registry-fixture.js";

// A page is read as JSON the database builds (SQLite: an array of values a row; PostgreSQL: a
// row's text, integer and double values in arrays of their own), not through the driver. Every
// column must come back as the driver reads it: the same numbers to the last bit, the same text
// to the last character.
describe.each(dialects())("a page of deployments (%s)", (dialect) => {
  const registry = registryFor(dialect, ["fraud-gbm"]);
  let database: Database;
  let stores: Stores;
  let ids: number[];

  beforeAll(async () => {
    ({ database, stores } = registry);
    const rows = await stores.deployments.insertDeployments(
      [
        { tags: "{}", endpoint: null },
        {
          tags: JSON.stringify({ quote: 'say "hi"', slash: "a\\b", unicode: "Größe ✓ 😀", ctl: "\t\n" }),
          endpoint: 'https://x.test/p?q="1"&r=\\',
        },
        { tags: JSON.stringify({ "": "" }), endpoint: "http://[::1]:8080/" },
        { tags: "{}", endpoint: null },
        { tags: "{}", endpoint: null },
      ].map((extra, i) =>
        newRow("fraud-gbm", {
          environment: `env-${i}`,
          deployment_date: T0 + i,
          ttl_extension_seconds: i * 86_400,
          created_at: 8_000_000_000_000 + i,
          created_by: `token:${i} "ci" ✓`,
          ...extra,
        }),
      ),
    );
    ids = rows.map((row) => row.id);
    // The columns only the lifecycle writes, at their awkward values.
    const lifecycle: Partial<DeploymentRow>[] = [
      {},
      {
        ended_at: 253_402_300_799_999,
        last_heartbeat_at: T0 + 1,
        performance_state: "degraded",
        performance_ok_since: 0,
        performance_drop: 0.1 + 0.2,
        drift_state: "drifted",
      },
      { performance_state: "ok", performance_drop: -1e-7, performance_ok_since: 2 ** 53 - 1 },
      // Values no metric should give, which PostgreSQL's JSON writes as strings.
      { performance_drop: Number.POSITIVE_INFINITY },
      { performance_drop: Number.NaN },
    ];
    for (const [i, values] of lifecycle.entries()) {
      if (Object.keys(values).length === 0) continue;
      await database.db
        .updateTable("deployments")
        .set(values)
        .where("id", "=", ids[i] as number)
        .execute();
    }
  });

  it("carries every column exactly as the driver reads it", async () => {
    const page = await stores.pages.listDeployments({ filter: {}, order: "asc", limit: 10 });
    const driver = await database.db.selectFrom("deployments").selectAll().orderBy("id").execute();
    expect(page).toEqual(driver);
    expect(page.map((row) => row.id)).toEqual(ids);
    expect(page[3]?.performance_drop).toBe(Number.POSITIVE_INFINITY);
    expect(page[1]?.performance_drop).toBe(0.1 + 0.2);
    expect(page[2]?.performance_drop).toBe(-1e-7);
    expect(page[2]?.performance_ok_since).toBe(2 ** 53 - 1);
    for (const row of page) {
      for (const column of ["id", "deployment_date", "created_at", "ttl_extension_seconds"] as const) {
        expect(typeof row[column]).toBe("number");
      }
    }
  });

  it("keeps its order and its limit, newest first too, and is empty past the end", async () => {
    const newest = await stores.pages.listDeployments({ filter: {}, order: "desc", limit: 2 });
    expect(newest.map((row) => row.id)).toEqual([ids[4], ids[3]]);
    const after = await stores.pages.listDeployments({
      filter: {},
      order: "asc",
      limit: 5,
      after: [T0 + 4, ids[4] as number],
    });
    expect(after).toEqual([]);
  });
});

// A page's statement is built once per shape of filter and reused with other values: every
// shape, and every shape again with other values, must give what the filter says.
describe.each(dialects())("pages of every shape (%s)", (dialect) => {
  const models = ["m0", "m1", "m2"];
  const registry = registryFor(dialect, models);
  let stores: Stores;
  let all: DeploymentRow[];

  beforeAll(async () => {
    stores = registry.stores;
    const roles = ["primary", "shadow", "canary"] as const;
    const statuses = ["active", "retired", "superseded"] as const;
    await stores.deployments.insertDeployments(
      Array.from({ length: 90 }, (_, i) => {
        const role = roles[i % 3] as (typeof roles)[number];
        return newRow(models[Math.floor(i / 3) % 3] as string, {
          environment: `e${Math.floor(i / 9) % 3}`,
          owner_team: `t${i % 2}`,
          role,
          // No live primaries: the schema allows one per model and environment.
          status: role === "primary" ? "superseded" : (statuses[i % 2] as (typeof statuses)[number]),
          // Ties on the date, so that the id decides between them.
          deployment_date: T0 + Math.floor(i / 2) * 1000,
        });
      }),
    );
    all = await registry.database.db.selectFrom("deployments").selectAll().execute();
  });

  /** Pages of every shape, with other values each time. */
  function* randomPages(seed: number, count: number): Generator<DeploymentPage> {
    const random = seededRandom(seed);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    for (let i = 0; i < count; i++) {
      const cursorRow = pick(all);
      yield {
        filter: {
          model: pick([undefined, "m0", "m1", "m2"]),
          environment: pick([undefined, "e0", "e2"]),
          owner_team: pick([undefined, "t0", "t1"]),
          role: pick([undefined, "shadow", "canary", "primary"] as const),
          statuses: pick([undefined, ["active"], ["active", "retired"], ["superseded"]] as const)?.slice(),
          deployed_before: pick([undefined, T0 + 20_000, T0 + 35_000]),
          deployed_at_or_after: pick([undefined, T0 + 5_000, T0 + 12_000]),
        },
        order: pick(["asc", "desc"] as const),
        limit: pick([1, 4, 9]),
        after: pick([undefined, [cursorRow.deployment_date, cursorRow.id] as [number, number]]),
      };
    }
  }

  it("finds what the filter says, in age order after the cursor, whatever shape it has", async () => {
    for (const page of randomPages(11, 400)) {
      const sign = page.order === "asc" ? 1 : -1;
      const { filter, after } = page;
      const expected = all
        .filter(
          (row) =>
            (!filter.model || row.model === filter.model) &&
            (!filter.environment || row.environment === filter.environment) &&
            (!filter.owner_team || row.owner_team === filter.owner_team) &&
            (!filter.role || row.role === filter.role) &&
            (!filter.statuses || filter.statuses.includes(row.status)) &&
            (filter.deployed_before === undefined || row.deployment_date < filter.deployed_before) &&
            (filter.deployed_at_or_after === undefined ||
              row.deployment_date >= filter.deployed_at_or_after) &&
            (!after || sign * (row.deployment_date - after[0] || row.id - after[1]) > 0),
        )
        .sort((a, b) => sign * (a.deployment_date - b.deployment_date || a.id - b.id))
        .slice(0, page.limit)
        .map((row) => row.id);
      const ids = (await stores.pages.listDeployments(page)).map((row) => row.id);
      if (JSON.stringify(ids) !== JSON.stringify(expected))
        expect({ page, ids }).toEqual({ page, ids: expected });
    }
  });
  // A page's statement is kept by shape (pageShape) and built from the filter (pageQuery): a
  // condition that reached the statement but not its shape would serve one filter's statement
  // for another's.
  it("builds one statement per shape: pages of one shape compile to the same SQL, binding the shape's values", () => {
    const statements = new Map<string, string>();
    for (const page of randomPages(12, 2_000)) {
      const { shape, parameters } = pageShape(dialect, page);
      const compiled = stores.pages.pageQuery(page);
      expect(compiled.parameters).toEqual(parameters);
      const known = statements.get(shape);
      if (known === undefined) statements.set(shape, compiled.sql);
      else if (known !== compiled.sql) expect({ shape, sql: compiled.sql }).toEqual({ shape, sql: known });
    }
    // Every field, order, limit and cursor made shapes of its own.
    expect(statements.size).toBeGreaterThan(500);
  });

  it("gives every filter field, the order, the limit and the cursor a say in the shape or its values", () => {
    const full: DeploymentPage = {
      filter: {
        model: "m0",
        environment: "e0",
        owner_team: "t0",
        role: "shadow",
        statuses: ["active"],
        deployed_before: T0 + 20_000,
        deployed_at_or_after: T0 + 5_000,
      },
      order: "asc",
      limit: 4,
      after: [T0, 1],
    };
    const key = (page: DeploymentPage) => JSON.stringify(pageShape(dialect, page));
    const variants: DeploymentPage[] = [
      ...Object.keys(full.filter).map((field) => ({
        ...full,
        filter: { ...full.filter, [field]: undefined },
      })),
      { ...full, order: "desc" },
      { ...full, limit: 5 },
      { ...full, after: undefined },
    ];
    for (const variant of variants) expect(key(variant), JSON.stringify(variant)).not.toBe(key(full));
  });
});
