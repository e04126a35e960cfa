import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RemoteRouteSource } from "../../src/gateway/remote-route-source.js";
import { pollUntil } from "../support/process.js";

const target = (overrides: Record<string, unknown> = {}) => ({
  deployment_id: 1,
  model: "fraud-gbm",
  model_version: "3.2.0",
  environment: "production",
  owner_team: "risk",
  role: "primary",
  deployment_date: "2026-11-01T00:00:00.000Z",
  training_data_cutoff: "2026-10-01T00:00:00.000Z",
  endpoint: "http://127.0.0.1:1/v1",
  traffic_weight: null,
  sticky_header: null,
  ...overrides,
});

/** A stand-in registry server that answers GET /v1/routes with whatever the test sets. */
async function fakeRegistry(port = 0) {
  const state = { body: {} as unknown, status: 200, authorization: [] as (string | undefined)[] };
  const server = http.createServer((req, res) => {
    state.authorization.push(req.headers.authorization);
    res.writeHead(state.status, { "content-type": "application/json" });
    res.end(JSON.stringify(state.body));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe("a gateway reading its routes from a registry server", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("never routes to a target that lacks mandatory metadata, and routes the rest", async () => {
    const registry = await fakeRegistry();
    cleanups.push(registry.close);
    registry.state.body = {
      environment: "production",
      route_version: "v1",
      models: ["fraud-gbm", "churn"],
      targets: [
        target(),
        target({ deployment_id: 2, model: "churn", owner_team: undefined }),
        target({ deployment_id: 3, model: "churn", training_data_cutoff: "yesterday" }),
      ],
    };
    const skipped: number[] = [];
    const source = new RemoteRouteSource({
      registry: registry.url,
      token: "tok",
      environment: "production",
      waitSeconds: 0,
      onSkipped: (count) => skipped.push(count),
    });
    cleanups.push(() => source.close());
    await source.start();
    expect(source.table.lookup("fraud-gbm")?.routes.primary?.deployment_id).toBe(1);
    // Known (a 503, not a ghost), but with nothing to route to.
    expect(source.table.lookup("churn")?.primary).toBeNull();
    expect(skipped[0]).toBe(2);
    expect(registry.state.authorization[0]).toBe("Bearer tok");
  });

  it("keeps its last routes while the server is gone, says so, and takes new ones when it is back", async () => {
    const registry = await fakeRegistry();
    registry.state.body = {
      environment: "production",
      route_version: "v1",
      models: ["fraud-gbm"],
      targets: [target()],
    };
    const source = new RemoteRouteSource({
      registry: registry.url,
      token: "tok",
      environment: "production",
      waitSeconds: 0,
    });
    cleanups.push(() => source.close());
    await source.start();
    await registry.close();
    await pollUntil("lost", () => (source.state().registry === "lost" ? true : undefined));
    expect(source.state().lost_since).toEqual(expect.any(Number));
    expect(source.table.lookup("fraud-gbm")?.routes.primary?.model_version).toBe("3.2.0");

    const back = await fakeRegistry(registry.port);
    cleanups.push(back.close);
    back.state.body = {
      environment: "production",
      route_version: "v2",
      models: ["fraud-gbm"],
      targets: [target({ deployment_id: 5, model_version: "3.1.0" })],
    };
    await pollUntil("connected", () => (source.state().registry === "connected" ? true : undefined), 10_000);
    expect(source.table.lookup("fraud-gbm")?.routes.primary?.model_version).toBe("3.1.0");
    expect(source.table.version).toBe("v2");
  });

  it("counts an answer that is not a routes snapshot as the registry lost", async () => {
    const registry = await fakeRegistry();
    cleanups.push(registry.close);
    registry.state.body = { environment: "production", route_version: "v1", models: [], targets: [] };
    const source = new RemoteRouteSource({
      registry: registry.url,
      token: "t",
      environment: "production",
      waitSeconds: 0,
    });
    cleanups.push(() => source.close());
    await source.start();
    registry.state.body = { hello: "world" };
    await pollUntil("lost", () => (source.state().registry === "lost" ? true : undefined));
    registry.state.status = 401;
    registry.state.body = { status: 401 };
    await new Promise((next) => setTimeout(next, 200));
    expect(source.state().registry).toBe("lost");
  });
});
