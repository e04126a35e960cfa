import { type Kysely, sql } from "kysely";

/**
 * One index of deployments by model and environment, in place of two: `deployments_model_env`
 * (every deployment) and the partial `deployments_one_live_primary` (live primaries, unique).
 * Its third key is 0 for a live primary and the deployment's own id otherwise, so as a unique
 * index it still forbids two live primaries of a model in an environment, whatever races above
 * it, and by its first two keys it finds every deployment of a model. Each index by model costs a
 * registration a page of its own at the model's place, written at every commit: one instead of
 * two makes registrations cheaper (BENCHMARKS.md, registry session 6).
 * Queries that look for a live primary name the same expression (`LIVE_PRIMARY_KEY` in
 * src/store/deployment-store.ts) so that both planners use it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create unique index deployments_model_live on deployments
    (model, environment, (case when status = 'active' and role = 'primary' then 0 else id end))`.execute(db);
  await db.schema.dropIndex("deployments_one_live_primary").execute();
  await db.schema.dropIndex("deployments_model_env").execute();
}
