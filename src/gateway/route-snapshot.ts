import { createHash } from "node:crypto";
import type { RouteRow } from "../store/route-store.js";
import type { RouteTarget } from "./exchange.js";

/** A live deployment the gateway may route to, with what a canary split needs. */
export interface SnapshotTarget extends RouteTarget {
  /** Percent of the model's traffic, for a canary; null otherwise. */
  traffic_weight: number | null;
  sticky_header: string | null;
}

/**
 * Everything a gateway routes by in one environment, as read at one moment: every registered
 * model (a request for another is a ghost) and the live deployments that have an endpoint.
 * `route_version` names the content, so replicas that read the same routes agree on it and a
 * reload that finds nothing changed keeps the version.
 */
export interface RouteSnapshot {
  environment: string;
  route_version: string;
  models: string[];
  targets: SnapshotTarget[];
}

/** The snapshot of what the store read: deployments without an endpoint cannot be routed to. */
export function snapshotOf(environment: string, models: string[], rows: RouteRow[]): RouteSnapshot {
  const targets: SnapshotTarget[] = [];
  for (const row of rows) {
    if (row.endpoint === null) continue;
    targets.push({
      deployment_id: row.id,
      model: row.model,
      model_version: row.model_version,
      environment: row.environment,
      owner_team: row.owner_team,
      role: row.role,
      deployment_date: row.deployment_date,
      training_data_cutoff: row.training_data_cutoff,
      endpoint: row.endpoint,
      traffic_weight: row.traffic_weight,
      sticky_header: row.sticky_header,
    });
  }
  return withVersion(environment, models, targets);
}

/** Names the routes by a hash of their content. */
export function withVersion(environment: string, models: string[], targets: SnapshotTarget[]): RouteSnapshot {
  const route_version = createHash("sha256")
    .update(JSON.stringify([environment, models, targets]))
    .digest("hex")
    .slice(0, 16);
  return { environment, route_version, models, targets };
}
