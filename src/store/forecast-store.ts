import { sql } from "kysely";
import { BoundStore } from "./bound-store.js";
import type { DeploymentRow } from "./schema.js";
import { updateDeployments } from "./update-deployments.js";

/** Models named by one statement at most, so that its parameters stay bounded on SQLite. */
const MODELS_PER_QUERY = 500;

/**
 * What a sweep's forecasts read and keep: the started deployments of many models at once (the
 * history their decay curves are learned from), and each live deployment's forecast.
 */
export interface ForecastStore {
  /**
   * The deployments of each model in each environment named that started before `before` (any
   * status but scheduled), the newest `perGroup` of each, oldest first: one query per 500 models.
   */
  startedDeploymentsOf(
    groups: readonly { model: string; environment: string }[],
    before: number,
    perGroup: number,
  ): Promise<DeploymentRow[]>;
  /** Keeps each deployment's forecast (JsonColumns.forecast, or null), a statement per 1,000. */
  setForecasts(updates: readonly { id: number; forecast: string | null }[]): Promise<void>;
}

export class SqlForecastStore extends BoundStore implements ForecastStore {
  async startedDeploymentsOf(
    groups: readonly { model: string; environment: string }[],
    before: number,
    perGroup: number,
  ): Promise<DeploymentRow[]> {
    const wanted = new Set(groups.map((g) => `${g.model}\u0000${g.environment}`));
    const models = [...new Set(groups.map((g) => g.model))];
    const environments = [...new Set(groups.map((g) => g.environment))];
    const out: DeploymentRow[] = [];
    for (let i = 0; i < models.length; i += MODELS_PER_QUERY) {
      // Ranked newest first within each model and environment (deployments_model_env narrows the
      // read to these models), then cut to `perGroup` of each: one statement for every model.
      const ranked = this.executor
        .selectFrom("deployments")
        .selectAll()
        .select(
          sql<number>`row_number() over (partition by model, environment order by deployment_date desc, id desc)`.as(
            "recency",
          ),
        )
        .where("model", "in", models.slice(i, i + MODELS_PER_QUERY))
        .where("environment", "in", environments)
        .where("status", "<>", sql.lit("scheduled"))
        .where("deployment_date", "<", before);
      const rows = await this.executor
        .selectFrom(ranked.as("ranked"))
        .selectAll()
        .where("recency", "<=", perGroup)
        .orderBy("deployment_date")
        .orderBy("id")
        .execute();
      for (const { recency: _recency, ...row } of rows) {
        if (wanted.has(`${row.model}\u0000${row.environment}`)) out.push(row as DeploymentRow);
      }
    }
    return out;
  }

  async setForecasts(updates: readonly { id: number; forecast: string | null }[]): Promise<void> {
    await updateDeployments(this.executor, this.dialect, { forecast: "text" }, updates);
  }
}
