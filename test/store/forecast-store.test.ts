import { describe, expect, it } from "vitest";
import type { NewDeploymentRow } from "../../src/store/schema.js";
import { dialects, freshStoresEach } from "../support/databases.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00.000Z");

describe.each(dialects())("the forecast store (%s)", (dialect) => {
  const fresh = freshStoresEach(dialect);

  const row = (model: string, environment: string, day: number, status: NewDeploymentRow["status"]) =>
    ({
      model,
      model_version: `${day}.0`,
      environment,
      owner_team: "risk",
      role: "primary",
      status,
      deployment_date: T0 + day * DAY,
      training_data_cutoff: T0 - DAY,
      ended_at: status === "active" || status === "scheduled" ? null : T0 + (day + 1) * DAY,
      tags: "{}",
      ttl_extension_seconds: 0,
      created_at: T0 + day * DAY,
      created_by: "test",
    }) satisfies NewDeploymentRow;

  /** The models and versions the rows name, which deployments reference. */
  async function insert(rows: NewDeploymentRow[]) {
    const db = fresh.database().db;
    const models = [...new Set(rows.map((r) => r.model))];
    await db
      .insertInto("models")
      .values(models.map((name) => ({ name, owner_team: "risk", created_at: T0 })))
      .execute();
    const versions = [...new Set(rows.map((r) => `${r.model} ${r.model_version}`))];
    await db
      .insertInto("model_versions")
      .values(
        versions.map((v) => {
          const [model = "", model_version = ""] = v.split(" ");
          return { model, model_version, training_data_cutoff: T0 - DAY, created_at: T0 };
        }),
      )
      .execute();
    return fresh.stores().deployments.insertDeployments(rows);
  }

  it("reads the newest started deployments of each model and environment asked for, in one read, oldest first", async () => {
    const stores = fresh.stores();
    await insert([
      row("fraud", "production", 0, "superseded"),
      row("fraud", "production", 1, "superseded"),
      row("fraud", "production", 2, "active"),
      row("fraud", "production", 9, "scheduled"),
      row("fraud", "staging", 0, "active"),
      row("churn", "production", 0, "superseded"),
      row("churn", "production", 5, "active"),
      row("recs", "production", 0, "active"),
    ]);
    const read = await stores.forecasts.startedDeploymentsOf(
      [
        { model: "fraud", environment: "production" },
        { model: "churn", environment: "production" },
      ],
      T0 + 3 * DAY,
      2,
    );
    // Not fraud in staging nor recs (not asked for), not the scheduled one, not churn's day 5
    // (after `before`), and of fraud's three only the newest two.
    expect(read.map((r) => `${r.model} ${r.environment} ${r.model_version}`)).toEqual([
      "churn production 0.0",
      "fraud production 1.0",
      "fraud production 2.0",
    ]);
    expect(read[0]).not.toHaveProperty("recency");
    expect(read[0]).toMatchObject({ forecast: null, status: "superseded" });
  });

  it("keeps each deployment's forecast text", async () => {
    const stores = fresh.stores();
    const [a, b] = await insert([
      row("fraud", "production", 0, "active"),
      row("churn", "production", 0, "active"),
    ]);
    const text = '{"reason":"auc does not decay with age","computed_at":1}';
    await stores.forecasts.setForecasts([
      { id: a?.id as number, forecast: text },
      { id: b?.id as number, forecast: null },
    ]);
    const rows = await stores.deployments.findDeployments([a?.id as number, b?.id as number]);
    expect(rows.map((r) => r.forecast).sort()).toEqual([text, null].sort());
  });
});
