import { afterEach, describe, expect, it } from "vitest";
import { Notification } from "../../src/alerts/notification.js";
import { RegisterDeploymentBody } from "../../src/registry/deployment-input.js";
import {
  JsonColumns,
  parseJsonColumn,
  parseStoredJson,
  parseTags,
  readForecast,
} from "../../src/store/json-columns.js";
import { dialects } from "../support/databases.js";
import { newRow, registryFor } from "../support/registry-fixture.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

describe("JSON read back from a column", () => {
  it("takes and refuses tags exactly as the tags column's schema does, without asking zod for the ones it takes", () => {
    const texts = [
      '{"tier":"1"}',
      '{"a":"","b":"c d","__proto__":"x"}',
      '{"tier":1}',
      '{"a":"b","c":null}',
      '{"a":{"b":"c"}}',
      '["a"]',
      "[]",
      "null",
      '"tier"',
      "1",
      "{",
      "",
    ];
    for (const text of texts) {
      const bySchema = JsonColumns.tags.safeParse(safeJson(text));
      if (bySchema.success) expect(parseTags(text), text).toEqual(bySchema.data);
      else expect(() => parseTags(text), text).toThrow(/the stored tags/);
    }
  });

  it("reads a stored forecast exactly as the forecast column's schema does, and gives why, never throws, for one that does not fit", () => {
    const crossing = {
      metric: "auc",
      breach_at: 1_798_761_600_000,
      low_at: 1_798_000_000_000,
      high_at: null,
      slope_per_day: -0.00012,
      based_on_deployments: 3,
      based_on_windows: 40,
      computed_at: 1_797_000_000_000,
    };
    const texts = [
      JSON.stringify(crossing),
      JSON.stringify({ ...crossing, high_at: 1_799_000_000_000 }),
      '{"reason":"auc does not decay with age","computed_at":1}',
      '{"computed_at":1,"reason":""}',
      JSON.stringify({ ...crossing, extra: 1 }),
      JSON.stringify({ ...crossing, high_at: undefined }),
      JSON.stringify({ ...crossing, metric: 1 }),
      JSON.stringify({ ...crossing, based_on_windows: 1.5 }),
      JSON.stringify({ ...crossing, based_on_deployments: -1 }),
      JSON.stringify({ ...crossing, breach_at: "soon" }),
      JSON.stringify({ ...crossing, reason: "both" }),
      JSON.stringify(crossing).replace("1798761600000", "1e400"),
      '{"reason":"why","computed_at":1e400}',
      '{"reason":"why","__proto__":1}',
      '{"reason":"why","computed_at":1,"__proto__":{}}',
      '{"reason":null,"computed_at":1}',
      '{"reason":"why"}',
      '["reason","computed_at"]',
      "{}",
      "null",
      "1",
      '"text"',
      "{",
      "",
    ];
    for (const text of texts) {
      const bySchema = JsonColumns.forecast.safeParse(safeJson(text));
      const read = readForecast(text);
      if (bySchema.success) expect(read, text).toEqual(bySchema.data);
      else expect(read, text).toEqual({ unreadable: expect.stringMatching(/^the stored forecast [^\n]+$/) });
    }
  });

  it("is parsed with its column's schema, and refused, naming the column, when it does not fit", () => {
    expect(parseTags('{"tier":"1"}')).toEqual({ tier: "1" });
    expect(parseTags("{}")).toEqual({});
    expect(() => parseTags('{"tier":1}')).toThrow(/tags/);
    expect(() => parseTags("[]")).toThrow(/tags/);
    expect(() => parseTags("{")).toThrow(/tags is not JSON/);
    expect(parseJsonColumn("sweep_counts", '{"due":2}')).toEqual({ due: 2 });
    expect(() => parseJsonColumn("sweep_counts", '{"due":"2"}')).toThrow(/sweep_counts/);
    expect(parseJsonColumn("event_data", '{"note":"ok","n":1}')).toEqual({ note: "ok", n: 1 });
    expect(() => parseJsonColumn("event_data", "null")).toThrow(/event_data/);
    expect(() => parseJsonColumn("alert_detail", '"text"')).toThrow(/alert_detail/);
    expect(parseJsonColumn("numeric_summary", "[1,2.5]")).toEqual([1, 2.5]);
    expect(() => parseJsonColumn("numeric_summary", '[1,"2"]')).toThrow(/numeric_summary/);
    expect(() => parseJsonColumn("categorical_summary", '{"a":"x"}')).toThrow(/categorical_summary/);
  });

  it("is parsed with the schema of the domain that wrote it, and refused naming the column", () => {
    expect(() => parseStoredJson("notification", Notification, '{"action":"trigger"}')).toThrow(
      /the stored notification does not hold what it should: .*alert/s,
    );
    expect(() => parseStoredJson("notification", Notification, "[")).toThrow(
      /the stored notification is not JSON/,
    );
  });
});

describe.each(dialects())("an idempotent replay of a stored response (%s)", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  it("refuses a stored response that is not a deployment, naming the column, instead of sending it", async () => {
    t = await startTestApp(dialect);
    const register = () =>
      t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration(),
        headers: { "idempotency-key": "deploy-7" },
      });
    const first = await register();
    expect(first.statusCode).toBe(201);
    expect((await register()).json()).toEqual(first.json());

    await t.context.database.db.updateTable("idempotency_keys").set({ response: "[]" }).execute();
    const replay = await register();
    expect(replay.statusCode).toBe(500);
    expect(replay.headers["content-type"]).toMatch(/^application\/problem\+json/);
    // The same replay through the registry, to read the refusal the 500 logs.
    const stored = await t.context.database.db.selectFrom("idempotency_keys").select("scope_key").execute();
    expect(stored).toHaveLength(1);
    const keyScope = (stored[0]?.scope_key ?? "").replace(/:deploy-7$/, "");
    const actor = { name: "token:admin", key_scope: keyScope, team: null, scope: "admin" } as const;
    await expect(
      t.context.registry.register(RegisterDeploymentBody.parse(registration()), actor, "deploy-7"),
    ).rejects.toThrow(/the stored idempotency_response does not hold what it should/);
  });
});

describe.each(dialects())("stored JSON through the stores (%s)", (dialect) => {
  const registry = registryFor(dialect, ["fraud-gbm"]);

  it("refuses a drift summary that is not what its kind says, naming the column", async () => {
    const { deployments, drift } = registry.stores;
    const [row] = await deployments.insertDeployments([newRow("fraud-gbm")]);
    const id = row?.id as number;
    await drift.putReference(
      id,
      [{ feature: "amount", seen: 2, summary: { kind: "numeric", values: [1, 2] } }],
      "upload",
      0,
    );
    expect((await drift.references([id])).get(id)?.[0]?.summary).toEqual({ kind: "numeric", values: [1, 2] });
    await registry.database.db
      .updateTable("drift_references")
      .set({ summary: '{"a":1}' })
      .where("deployment_id", "=", id)
      .execute();
    await expect(drift.references([id])).rejects.toThrow(/numeric_summary/);
  });
});

/** What JSON.parse makes of `text`, or undefined where it throws. */
function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
