import type { Kysely } from "kysely";

/**
 * A live deployment's forecast, as the last sweep computed it from its model's decay curve: one
 * JSON text on the deployment (JsonColumns.forecast), so every view of it reads the forecast
 * with the row, without refitting and without another query. Its times are absolute (epoch ms):
 * a view turns them into seconds from its own now. Null until a sweep forecasts it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable("deployments").addColumn("forecast", "text").execute();
}
