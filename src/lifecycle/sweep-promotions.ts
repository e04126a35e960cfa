import type { Registry } from "../registry/registry.js";
import type { DeploymentRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import { promoteCounting } from "./promotion-totals.js";
import type { Pass } from "./sweep-pass.js";

/**
 * A sweep's first step: the scheduled promotions whose time has come. A sweep carries them out;
 * a preview works out what they would make live and whom they would supersede.
 */

/**
 * Carries out the scheduled promotions whose time has come, oldest first, counting what each
 * resolves in the pass's totals; how many it made.
 */
export async function promoteDue(
  stores: Pick<Stores, "deployments">,
  registry: Registry,
  pass: Pass,
): Promise<number> {
  let promoted = 0;
  for (;;) {
    const due = await stores.deployments.duePromotions(pass.at, 100);
    for (const row of due) if (await promoteCounting(registry, row.id, pass)) promoted++;
    if (due.length < 100) return promoted;
  }
}

/**
 * What `promoteDue` would do, without doing it: the due promotions' count, the deployments they
 * would make live (as live rows, dated `at`), and the live primaries they would supersede
 * (in `pass.superseded`). A promoted primary that a later promotion supersedes in the same
 * sweep counts but is not judged, as in a sweep. The pass's decay curves are told of them all
 * (`pass.decays.foresee`): a sweep promotes before it learns TTLs and forecasts.
 */
export async function previewPromotions(
  stores: Pick<Stores, "deployments">,
  pass: Pass,
): Promise<{ count: number; live: DeploymentRow[] }> {
  // Nothing is promoted, so paging as `promoteDue` does would read the first page forever; due
  // promotions are registered one by one and are few.
  const due = await stores.deployments.duePromotions(pass.at, Number.MAX_SAFE_INTEGER);
  const primaries = new Map<string, DeploymentRow | undefined>();
  const live = new Map<number, DeploymentRow>();
  // Every deployment the promotions change, as they would leave it.
  const after = new Map<number, DeploymentRow>();
  const supersede = (row: DeploymentRow) =>
    after.set(row.id, { ...row, status: "superseded", ended_at: pass.at });
  for (const row of due) {
    const promoted: DeploymentRow = { ...row, status: "active", deployment_date: pass.at };
    if (row.role === "primary") {
      const key = `${row.model}\u0000${row.environment}`;
      const current = primaries.has(key)
        ? primaries.get(key)
        : await stores.deployments.findLivePrimary(row.model, row.environment);
      if (current && live.has(current.id)) live.delete(current.id);
      else if (current) pass.superseded.add(current.id);
      if (current) supersede(current);
      primaries.set(key, promoted);
    }
    live.set(row.id, promoted);
    after.set(row.id, promoted);
  }
  pass.decays.foresee([...after.values()]);
  return { count: due.length, live: [...live.values()].sort((a, b) => a.id - b.id) };
}
