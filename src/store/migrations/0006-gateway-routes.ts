import { type Kysely, sql } from "kysely";
import type { DialectName } from "../database.js";

/** The channel a PostgreSQL registry notifies on when a route changes; the payload is the environment. */
export const ROUTES_CHANNEL = "tenure_routes";

/**
 * What the gateway routes by, beside a deployment's endpoint and role: a canary's share of the
 * traffic (percent, null for other roles) and the request header that keeps one client on one
 * side of the split. On PostgreSQL, triggers tell every listening gateway that an environment's
 * routes changed, so that the registry itself need not know gateways exist (src/gateway/
 * route-changes.ts); SQLite gateways watch `PRAGMA data_version` instead.
 */
export async function up(db: Kysely<unknown>, dialect: DialectName): Promise<void> {
  await db.schema.alterTable("deployments").addColumn("traffic_weight", "integer").execute();
  await db.schema.alterTable("deployments").addColumn("sticky_header", "text").execute();
  if (dialect === "postgres") await notifyOnRouteChanges(db);
}

/**
 * Inserts notify once per statement and environment (a batch of registrations is one
 * notification per environment; PostgreSQL also folds equal notifications of one transaction).
 * Updates notify only when a column the routes are made of is set and changed: heartbeats,
 * sweeps' performance states and TTL extensions never do.
 */
async function notifyOnRouteChanges(db: Kysely<unknown>): Promise<void> {
  await sql`create function tenure_routes_inserted() returns trigger language plpgsql as $$
    begin
      perform pg_notify(${sql.lit(ROUTES_CHANNEL)}, environment) from (select distinct environment from inserted) e;
      return null;
    end $$`.execute(db);
  await sql`create trigger deployments_routes_inserted after insert on deployments
    referencing new table as inserted for each statement execute function tenure_routes_inserted()`.execute(
    db,
  );
  await sql`create function tenure_routes_updated() returns trigger language plpgsql as $$
    begin
      perform pg_notify(${sql.lit(ROUTES_CHANNEL)}, new.environment);
      if old.environment <> new.environment then
        perform pg_notify(${sql.lit(ROUTES_CHANNEL)}, old.environment);
      end if;
      return null;
    end $$`.execute(db);
  await sql`create trigger deployments_routes_updated
    after update of status, role, endpoint, model_version, traffic_weight, sticky_header, environment
    on deployments for each row
    when ((old.status, old.role, old.endpoint, old.model_version, old.traffic_weight, old.sticky_header, old.environment)
      is distinct from (new.status, new.role, new.endpoint, new.model_version, new.traffic_weight, new.sticky_header, new.environment))
    execute function tenure_routes_updated()`.execute(db);
}
