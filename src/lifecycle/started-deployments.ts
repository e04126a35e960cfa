import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";

/** A model's history in one environment reads its newest deployments, no more. */
export const MODEL_HISTORY_DEPLOYMENTS = 500;

/**
 * The deployments of a model in an environment that have started, oldest first: the newest
 * `MODEL_HISTORY_DEPLOYMENTS` of them.
 */
export async function startedDeployments(
  stores: Pick<Stores, "pages">,
  model: string,
  environment: string,
  now: number,
): Promise<DeploymentRow[]> {
  const rows = await stores.pages.listDeployments({
    filter: { model, environment, deployed_before: now + 1 },
    order: "desc",
    limit: MODEL_HISTORY_DEPLOYMENTS,
  });
  return rows.filter((r) => r.status !== "scheduled").reverse();
}
