import { describe, expect, it } from "vitest";
import { parseJsonColumn, parseTags } from "../../src/store/json-columns.js";
import { dialects } from "../support/databases.js";
import { newRow, registryFor } from "../support/registry-fixture.js";

describe("JSON read back from a column", () => {
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
