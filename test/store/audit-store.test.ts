import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { type NewAuditEntry, SqlAuditStore } from "../../src/store/audit-store.js";
import { dialects, freshStoresEach } from "../support/databases.js";

const T0 = Date.parse("2026-12-01T12:00:00.000Z");

const entry = (overrides: Partial<NewAuditEntry> = {}): NewAuditEntry => ({
  at: T0,
  actor: "token:ci",
  action: "deployment.retire",
  target: "deployment:1",
  origin: "http",
  client_ip: "203.0.113.7",
  user_agent: "curl/8",
  method: "POST",
  path: "/v1/deployments/1/retire",
  status: 200,
  before: JSON.stringify({ status: "active" }),
  after: JSON.stringify({ status: "retired" }),
  ...overrides,
});

describe("the audit store's interface", () => {
  it("offers no way to change or remove an entry: append (one or several) and list only", () => {
    const methods = Object.getOwnPropertyNames(SqlAuditStore.prototype).filter((m) => m !== "constructor");
    expect(methods.sort()).toEqual(["append", "appendAll", "list"]);
  });
});

describe.each(dialects())("the audit store (%s)", (dialect) => {
  const fresh = freshStoresEach(dialect);

  it("appends an entry and reads it back as written", async () => {
    const row = await fresh.stores().audit.append(entry());
    expect(row).toMatchObject({ ...entry(), id: expect.any(Number) });
    expect(await fresh.stores().audit.list({ limit: 10 })).toEqual([row]);
  });

  it("lists newest first, filtered by actor, action and since, in pages below a cursor", async () => {
    for (let i = 0; i < 5; i++) {
      await fresh
        .stores()
        .audit.append(entry({ at: T0 + i * 1000, actor: i % 2 ? "cli:alice" : "token:ci" }));
    }
    await fresh.stores().audit.append(entry({ at: T0 + 9000, action: "token.create", origin: "local" }));
    const all = await fresh.stores().audit.list({ limit: 100 });
    expect(all.map((r) => r.at)).toEqual([9, 4, 3, 2, 1, 0].map((i) => T0 + i * 1000));
    expect((await fresh.stores().audit.list({ limit: 100, actor: "cli:alice" })).map((r) => r.at)).toEqual([
      T0 + 3000,
      T0 + 1000,
    ]);
    expect(
      (await fresh.stores().audit.list({ limit: 100, action: "token.create" })).map((r) => r.origin),
    ).toEqual(["local"]);
    expect((await fresh.stores().audit.list({ limit: 100, since: T0 + 3000 })).length).toBe(3);
    const first = await fresh.stores().audit.list({ limit: 2 });
    const second = await fresh.stores().audit.list({ limit: 2, before_id: first.at(-1)?.id });
    expect([...first, ...second].map((r) => r.id)).toEqual(all.slice(0, 4).map((r) => r.id));
  });

  it("refuses an UPDATE, a DELETE of any row, even in SQL written by hand: the log is append-only", async () => {
    await fresh.stores().audit.append(entry());
    await expect(
      sql`update audit_log set actor = 'someone-else'`.execute(fresh.database().db),
    ).rejects.toThrow(/append-only/);
    await expect(sql`delete from audit_log`.execute(fresh.database().db)).rejects.toThrow(/append-only/);
    const [row] = await fresh.stores().audit.list({ limit: 1 });
    expect(row?.actor).toBe("token:ci");
  });

  it("rolls an entry back with the transaction it was written in", async () => {
    await expect(
      fresh.stores().transaction(async (tx) => {
        await tx.audit.append(entry());
        throw new Error("the change failed");
      }),
    ).rejects.toThrow("the change failed");
    expect(await fresh.stores().audit.list({ limit: 10 })).toEqual([]);
  });
});
