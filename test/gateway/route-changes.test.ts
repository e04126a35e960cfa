import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Context, openContext } from "../../src/context.js";
import { LocalRouteSource } from "../../src/gateway/route-changes.js";
import type { Actor } from "../../src/registry/actor.js";
import { RegisterDeploymentBody } from "../../src/registry/deployment-input.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { pollUntil } from "../support/process.js";

const actor: Actor = { name: "test", key_scope: "test", team: null };

describe.each(dialects())("the gateway's routes on %s", (dialect) => {
  let database: TestDatabase;
  let context: Context;
  let source: LocalRouteSource;
  const changes: string[] = [];
  const lost: unknown[] = [];

  const register = (model_version: string, extra: Record<string, unknown> = {}) =>
    context.registry.register(
      RegisterDeploymentBody.parse({
        model: "fraud-gbm",
        model_version,
        training_data_cutoff: "2026-10-01T00:00:00.000Z",
        owner_team: "risk",
        environment: "production",
        endpoint: `http://127.0.0.1:1/${model_version}`,
        ...extra,
      }),
      actor,
    );

  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    context = await openContext(database.url);
    await register("1.0.0");
    source = new LocalRouteSource({
      url: database.url,
      stores: context.stores,
      environment: "production",
      events: {
        routesChanged: (table) => changes.push(table.version),
        registryLost: (error) => lost.push(error),
      },
    });
    await source.start();
  });
  afterEach(async () => {
    await source?.close();
    await context.close();
    await database.drop();
  });

  const primaryVersion = () => source.table.lookup("fraud-gbm")?.routes.primary?.model_version;

  it("reads the live routes once at start, and again when a new primary is registered", async () => {
    expect(primaryVersion()).toBe("1.0.0");
    expect(source.table.routable).toBe(1);
    await register("2.0.0");
    await pollUntil("the new primary", () => (primaryVersion() === "2.0.0" ? true : undefined), 5_000);
  });

  it("sees a rollback made by the registry, which knows nothing of gateways", async () => {
    await register("2.0.0");
    await pollUntil("2.0.0", () => (primaryVersion() === "2.0.0" ? true : undefined), 5_000);
    const started = Date.now();
    await context.registry.rollback("fraud-gbm", "production", actor, { to_version: "1.0.0" });
    await pollUntil("the rollback", () => (primaryVersion() === "1.0.0" ? true : undefined), 5_000, 5);
    console.log(`${dialect}: a rollback reached the routes in ${Date.now() - started} ms`);
    expect(source.table.lookup("fraud-gbm")?.primary?.origin).toBe("http://127.0.0.1:1");
    expect(source.table.lookup("fraud-gbm")?.primary?.base_path).toBe("/1.0.0");
  });

  it("keeps its route version through heartbeats and writes that change no route", async () => {
    const version = source.table.version;
    const id = source.table.lookup("fraud-gbm")?.routes.primary?.deployment_id as number;
    await context.lifecycle.heartbeat(id, actor);
    await context.lifecycle.heartbeat(id, actor);
    await register("1.0.0", { environment: "staging" });
    // A change in another environment reloads nothing here, or reads the same routes again.
    await register("2.0.0");
    await pollUntil("the change after them", () => (primaryVersion() === "2.0.0" ? true : undefined), 5_000);
    expect(source.table.version).not.toBe(version);
    expect(source.state()).toEqual({ registry: "connected", lost_since: null });
  });

  it("gives a canary its weight and sticky header from the deployment's columns", async () => {
    const { deployment } = await register("2.0.0", { role: "canary" });
    await context.database.db
      .updateTable("deployments")
      .set({ traffic_weight: 25, sticky_header: "X-User" })
      .where("id", "=", deployment.id)
      .execute();
    await pollUntil(
      "the canary's weight",
      () => (source.table.lookup("fraud-gbm")?.canary_weight === 25 ? true : undefined),
      5_000,
    );
    expect(source.table.lookup("fraud-gbm")?.routes.canary).toMatchObject({
      weight: 25,
      sticky_header: "x-user",
      target: { model_version: "2.0.0", role: "canary" },
    });
  });

  if (dialect === "postgres") {
    it("notifies tenure_routes for route changes only: not for heartbeats", async () => {
      const listener = new pg.Client({ connectionString: database.url });
      await listener.connect();
      const heard: string[] = [];
      listener.on("notification", (message) => heard.push(message.payload ?? ""));
      try {
        await listener.query("listen tenure_routes");
        const id = source.table.lookup("fraud-gbm")?.routes.primary?.deployment_id as number;
        await context.lifecycle.heartbeat(id, actor);
        await register("2.0.0", { environment: "staging" });
        await pollUntil(
          "the registration's notification",
          () => (heard.length > 0 ? true : undefined),
          5_000,
        );
        expect(heard).toEqual(["staging"]);
      } finally {
        await listener.end();
      }
    });

    it("says the registry is lost when its LISTEN connection drops, keeps its routes, and catches up when back", async () => {
      const admin = new pg.Client({ connectionString: database.url });
      await admin.connect();
      try {
        await pollUntil("the LISTEN connection", async () => {
          const { rowCount } = await admin.query(
            "select 1 from pg_stat_activity where application_name = 'tenure-gateway-routes' and datname = current_database()",
          );
          return rowCount ? true : undefined;
        });
        await admin.query(
          "select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'tenure-gateway-routes' and datname = current_database()",
        );
        await pollUntil("lost", () => (source.state().registry === "lost" ? true : undefined), 5_000);
        expect(primaryVersion()).toBe("1.0.0");
        await pollUntil(
          "connected again",
          () => (source.state().registry === "connected" ? true : undefined),
          10_000,
        );
        await register("3.0.0");
        await pollUntil("3.0.0", () => (primaryVersion() === "3.0.0" ? true : undefined), 5_000);
        expect(lost.length).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
    });
  }
});
