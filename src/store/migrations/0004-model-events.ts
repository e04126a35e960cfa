import { type Kysely, sql } from "kysely";

/**
 * A model's events are read through its deployments (an index of deployments by model, then
 * `deployment_events_deployment`) plus its own events, which have no deployment: only those need
 * an index by model. An index of every event by model cost each registration a page of its own
 * at a place set by the model, not at the end: a fifth of the bare write path's time.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex("deployment_events_model").execute();
  await db.schema
    .createIndex("deployment_events_model_own")
    .on("deployment_events")
    // By id after the model, as a model's history is read: so SQLite merges it with the events of
    // the model's deployments in order, rather than reading every model's own events by
    // deployment_events_deployment (deployment_id IS NULL, then id) to avoid a sort.
    .columns(["model", "id"])
    .where(sql.ref("deployment_id"), "is", null)
    .execute();
}
