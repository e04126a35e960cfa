import { sql } from "kysely";
import type { DeploymentRole } from "../core/words.js";
import { BoundStore } from "./bound-store.js";

/** A live deployment as the gateway routes to it: what it answers with and where it is. */
export interface RouteRow {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: DeploymentRole;
  deployment_date: number;
  training_data_cutoff: number;
  endpoint: string | null;
  traffic_weight: number | null;
  sticky_header: string | null;
}

/** What a gateway serving one environment reads when its routes change, and only then. */
export interface RouteStore {
  /** The live deployments of `environment`, in id order, endpoint or not. */
  liveRoutes(environment: string): Promise<RouteRow[]>;
  /** The name of every registered model: a request for another is a ghost (404), not a 503. */
  modelNames(): Promise<string[]>;
}

export class SqlRouteStore extends BoundStore implements RouteStore {
  async liveRoutes(environment: string): Promise<RouteRow[]> {
    return this.executor
      .selectFrom("deployments")
      .select([
        "id",
        "model",
        "model_version",
        "environment",
        "owner_team",
        "role",
        "deployment_date",
        "training_data_cutoff",
        "endpoint",
        "traffic_weight",
        "sticky_header",
      ])
      .where("status", "=", sql.lit("active"))
      .where("environment", "=", environment)
      .orderBy("id")
      .execute();
  }

  async modelNames(): Promise<string[]> {
    const rows = await this.executor.selectFrom("models").select("name").orderBy("name").execute();
    return rows.map((row) => row.name);
  }
}
