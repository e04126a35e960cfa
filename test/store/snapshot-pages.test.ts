import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Database, openDatabase } from "../../src/store/database.js";
import type { DeploymentPage } from "../../src/store/page-store.js";
import type { DeploymentRow } from "../../src/store/schema.js";
import { SnapshotPages } from "../../src/store/snapshot-pages.js";
import { type Stores, storesOf } from "../../src/store/stores.js";
import { dialects } from "../support/databases.js";
import { newRow, registryFor, T0 } from "../support/registry-fixture.js";

/** A connection of another process's kind, outside Tenure's store: it begins, writes, commits. */
interface OtherConnection {
  begin(): Promise<void>;
  run(sql: string, values: unknown[]): Promise<void>;
  commit(): Promise<void>;
  close(): Promise<void>;
}

async function otherConnection(dialect: string, url: string): Promise<OtherConnection> {
  if (dialect === "postgres") {
    const client = new pg.Client(url);
    await client.connect();
    let n = 0;
    return {
      begin: async () => void (await client.query("begin")),
      run: async (sql, values) =>
        void (await client.query(
          sql.replace(/\?/g, () => `$${++n}`),
          values,
        )),
      commit: async () => void (await client.query("commit")),
      close: () => client.end(),
    };
  }
  const db = new SqliteDatabase(url);
  db.pragma("busy_timeout = 5000");
  return {
    begin: async () => void db.exec("begin immediate"),
    run: async (sql, values) => void db.prepare(sql).run(...values),
    commit: async () => void db.exec("commit"),
    close: async () => void db.close(),
  };
}

/** A live primary of `model` in `environment`, deployed `minutes` after T0. */
const primary = (model: string, environment: string, minutes: number) =>
  newRow(model, { environment, role: "primary", deployment_date: T0 + minutes * 60_000 });

const PAGE: DeploymentPage = { filter: { statuses: ["active"] }, order: "asc", limit: 50 };

// A page read outside a transaction is kept with the state it was read in, and served again only
// while nothing has been committed since, by this server or any other connection. Served again, a
// page is the very row objects of the first read; read again, new ones.
describe.each(dialects())("pages served again while nothing was committed (%s)", (dialect) => {
  const registry = registryFor(dialect, ["a", "b", "c"]);
  let stores: Stores;
  let other: Database;
  beforeAll(async () => {
    stores = registry.stores;
    // Another server on the same database: its commits are not this one's to know of.
    other = openDatabase(registry.url);
    await stores.deployments.insertDeployments([
      primary("a", "production", 1),
      primary("b", "production", 2),
    ]);
  });
  afterAll(async () => {
    await other?.close();
  });

  const versions = (rows: DeploymentRow[]) => rows.map((r) => `${r.model}/${r.environment}/${r.status}`);

  it("serves the same rows again, frozen, without reading the table", async () => {
    const first = await stores.pages.listDeployments(PAGE);
    const again = await stores.pages.listDeployments(PAGE);
    expect(versions(again)).toEqual(["a/production/active", "b/production/active"]);
    expect(again[0]).toBe(first[0]);
    expect(Object.isFrozen(again[0])).toBe(true);
    // The caller's array is its own.
    again.pop();
    expect(await stores.pages.listDeployments(PAGE)).toHaveLength(2);
  });

  it("reads the table again after this server commits", async () => {
    const before = await stores.pages.listDeployments(PAGE);
    await stores.deployments.insertDeployments([primary("c", "production", 3)]);
    const after = await stores.pages.listDeployments(PAGE);
    expect(versions(after)).toEqual(["a/production/active", "b/production/active", "c/production/active"]);
    expect(after[0]).not.toBe(before[0]);
  });

  it("reads the table again after another server commits, and not before", async () => {
    const before = await stores.pages.listDeployments(PAGE);
    const id = before.find((row) => row.model === "b")?.id as number;
    const client = await otherConnection(dialect, registry.url);
    try {
      await client.begin();
      await client.run("update deployments set status = 'retired', ended_at = ? where id = ?", [T0 + 1, id]);
      // Uncommitted: the page is what it was.
      expect(versions(await stores.pages.listDeployments(PAGE))).toEqual(versions(before));
      await client.commit();
    } finally {
      await client.close();
    }
    expect(versions(await stores.pages.listDeployments(PAGE))).toEqual([
      "a/production/active",
      "c/production/active",
    ]);
    await storesOf(other).deployments.insertDeployments([primary("b", "staging", 4)]);
    expect(versions(await stores.pages.listDeployments(PAGE))).toEqual([
      "a/production/active",
      "c/production/active",
      "b/staging/active",
    ]);
  });

  it("reads a transaction's pages from the table, with its own writes", async () => {
    await stores.pages.listDeployments(PAGE);
    const inside = await stores.transaction(async (tx) => {
      await tx.deployments.insertDeployments([primary("a", "staging", 5)]);
      return tx.pages.listDeployments(PAGE);
    });
    expect(versions(inside)).toContain("a/staging/active");
    expect(versions(await stores.pages.listDeployments(PAGE))).toContain("a/staging/active");
  });

  it("keeps pages apart by their filters and cursors", async () => {
    const production = await stores.pages.listDeployments({ ...PAGE, filter: { environment: "production" } });
    const staging = await stores.pages.listDeployments({ ...PAGE, filter: { environment: "staging" } });
    expect(new Set(production.map((r) => r.environment))).toEqual(new Set(["production"]));
    expect(new Set(staging.map((r) => r.environment))).toEqual(new Set(["staging"]));
    const [firstRow] = production;
    const rest = await stores.pages.listDeployments({
      ...PAGE,
      filter: { environment: "production" },
      after: [firstRow?.deployment_date as number, firstRow?.id as number],
    });
    expect(rest.map((r) => r.id)).toEqual(production.slice(1).map((r) => r.id));
  });
});

describe("SnapshotPages", () => {
  const rows = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ ...primary("m", "production", i), id: i + 1 }) as DeploymentRow);

  it("holds at most maxRows rows, dropping the least recently used pages first", () => {
    const pages = new SnapshotPages(10);
    pages.set("a", "1:1:", rows(4));
    pages.set("b", "1:1:", rows(4));
    expect(pages.get("a")?.rows).toHaveLength(4);
    pages.set("c", "1:1:", rows(4));
    // "b" was used least recently.
    expect(pages.get("b")).toBeUndefined();
    expect(pages.get("a")).toBeDefined();
    expect(pages.get("c")).toBeDefined();
    expect(pages.size).toBe(2);
  });

  it("keeps no page larger than the bound, and replaces a page under the same key", () => {
    const pages = new SnapshotPages(10);
    pages.set("big", "1:1:", rows(11));
    expect(pages.get("big")).toBeUndefined();
    pages.set("a", "1:1:", rows(6));
    pages.set("a", "2:2:", rows(6));
    expect(pages.get("a")?.snapshot).toBe("2:2:");
    pages.set("b", "1:1:", rows(4));
    expect(pages.size).toBe(2);
  });

  it("freezes the rows it keeps", () => {
    const pages = new SnapshotPages();
    const kept = rows(2);
    pages.set("a", "1:1:", kept);
    expect(Object.isFrozen(kept[0])).toBe(true);
    expect(Object.isFrozen(pages.get("a")?.rows)).toBe(true);
  });
});
