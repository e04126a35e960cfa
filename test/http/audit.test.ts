import { writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AUDITED_ROUTES, UNAUDITED_WRITES } from "../../src/http/audit-hook.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-12-01T12:00:00.000Z");
const POLICIES = "policies:\n  - name: fraud\n    match: { model: fraud-gbm }\n    max_age: 30d\n";

describe.each(dialects())("the audit log through the API on %s", (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW, policies: POLICIES });
  });
  afterEach(async () => {
    await t.close();
  });

  const entries = async () => (await t.context.audit.list({ limit: 500 })).items;
  const register = async (overrides: Record<string, unknown> = {}, token?: string) => {
    const res = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration(overrides),
      token,
    });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: number };
  };
  /** Runs a change and returns the one audit row it left (failing when it left none or several). */
  const onlyRowOf = async (change: () => Promise<unknown>) => {
    const known = new Set((await entries()).map((e) => e.id));
    await change();
    const added = (await entries()).filter((e) => !known.has(e.id));
    expect(added).toHaveLength(1);
    return added[0] as NonNullable<(typeof added)[number]>;
  };

  it("records a registration once, in its own transaction: who, from where, the primary it supersedes before and the deployment it made after", async () => {
    const first = await register({ model_version: "3.1.0" });
    const row = await onlyRowOf(() =>
      t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration({ model_version: "3.2.0" }),
        token: t.tokens.write,
        headers: { "user-agent": "deployer/1.0" },
      }),
    );
    const second = (await t.context.stores.deployments.findLivePrimary("fraud-gbm", "production"))?.id;
    expect(row).toMatchObject({
      actor: "token:write",
      action: "deployment.register",
      target: "model:fraud-gbm/production",
      origin: "http",
      client_ip: "127.0.0.1",
      user_agent: "deployer/1.0",
      method: "POST",
      path: "/v1/deployments",
      status: 201,
      at: new Date(NOW).toISOString(),
      before: { id: first.id, model_version: "3.1.0", role: "primary", status: "active", ended_at: null },
      after: {
        id: second,
        model_version: "3.2.0",
        role: "primary",
        status: "active",
        deployment_date: new Date(NOW).toISOString(),
      },
    });
    const firstRow = (await entries()).find((e) => e.id !== row.id);
    expect(firstRow).toMatchObject({ action: "deployment.register", before: null });
  });

  it("records nothing for a retried registration answered from its Idempotency-Key", async () => {
    const headers = { "idempotency-key": "deploy-1" };
    await t.request({ method: "POST", url: "/v1/deployments", body: registration(), headers });
    const before = await entries();
    const replay = await t.request({ method: "POST", url: "/v1/deployments", body: registration(), headers });
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(await entries()).toEqual(before);
  });

  it("records a reference upload with the features it holds, in the upload's transaction", async () => {
    const { id } = await register();
    const row = await onlyRowOf(() =>
      t.request({
        method: "POST",
        url: `/v1/deployments/${id}/reference`,
        body: {
          rows: [
            { amount: 1.5, country: "NL" },
            { amount: 2.5, country: "DE" },
          ],
        },
      }),
    );
    expect(row).toMatchObject({
      action: "deployment.reference",
      target: `deployment:${id}`,
      origin: "http",
      method: "POST",
      path: `/v1/deployments/${id}/reference`,
      status: 200,
      before: null,
      after: { deployment_id: id, source: "upload", features: ["amount", "country"] },
    });
  });

  it("records a retirement with the deployment row before (active) and after (retired)", async () => {
    const { id } = await register();
    const row = await onlyRowOf(() =>
      t.request({ method: "POST", url: `/v1/deployments/${id}/retire`, body: { reason: "replaced" } }),
    );
    expect(row).toMatchObject({
      actor: "token:admin",
      action: "deployment.retire",
      target: `deployment:${id}`,
      before: { id, status: "active", ended_at: null, deployment_date: new Date(NOW).toISOString() },
      after: { id, status: "retired", ended_at: new Date(NOW).toISOString() },
    });
  });

  it("records a review with the TTL extension it made", async () => {
    const { id } = await register();
    const row = await onlyRowOf(() =>
      t.request({
        method: "POST",
        url: `/v1/deployments/${id}/review`,
        body: { note: "still good", extend_seconds: 86_400 },
        token: t.tokens.risk,
      }),
    );
    expect(row).toMatchObject({
      actor: "token:write-risk",
      action: "deployment.review",
      before: { id, ttl_extension_seconds: 0 },
      after: { id, ttl_extension_seconds: 86_400 },
    });
  });

  it("records a golden version set and a rollback with the model's state before and after", async () => {
    const old = await register({ model_version: "3.1.0" });
    await register({ model_version: "3.2.0" });
    const golden = await onlyRowOf(() =>
      t.request({
        method: "PUT",
        url: "/v1/models/fraud-gbm/golden",
        body: { model_version: "3.1.0", environment: "production" },
      }),
    );
    expect(golden).toMatchObject({
      action: "model.golden",
      target: "model:fraud-gbm/production",
      before: { golden_version: null },
      after: { golden_version: "3.1.0" },
    });
    const rollback = await onlyRowOf(async () => {
      const res = await t.request({
        method: "POST",
        url: "/v1/models/fraud-gbm/rollback",
        body: { reason: "bad" },
      });
      expect(res.statusCode, res.body).toBe(200);
    });
    expect(rollback).toMatchObject({
      action: "model.rollback",
      before: { golden_version: "3.1.0", live: [{ model_version: "3.2.0" }] },
      after: { golden_version: "3.1.0", live: [{ model_version: "3.1.0" }] },
    });
    expect(old.id).toBeGreaterThan(0);
  });

  it("records an alert resolved by hand with its state before and after", async () => {
    const { id } = await register();
    const [alert] = await t.context.stores.alerts.insertAlerts([
      {
        deployment_id: id,
        kind: "canary_failed",
        severity: "page",
        policy: "fraud",
        model: "fraud-gbm",
        model_version: "3.2.0",
        environment: "production",
        owner_team: "risk",
        summary: "the canary failed",
        detail: {},
        opened_at: NOW,
      },
    ]);
    const row = await onlyRowOf(async () => {
      const res = await t.request({
        method: "POST",
        url: `/v1/alerts/${alert?.id}/resolve`,
        body: { note: "ok" },
      });
      expect(res.statusCode, res.body).toBe(200);
    });
    expect(row).toMatchObject({
      action: "alert.resolve",
      target: `alert:${alert?.id}`,
      before: { state: "open", resolved_at: null },
      after: { state: "resolved", resolved_at: new Date(NOW).toISOString() },
    });
  });

  it("records a sweep and a retry of dead deliveries with their outcome as `after`", async () => {
    const sweep = await onlyRowOf(() => t.request({ method: "POST", url: "/v1/sweeps", body: {} }));
    expect(sweep).toMatchObject({
      action: "sweep.run",
      target: null,
      before: null,
      after: { id: expect.any(Number) },
    });
    const retry = await onlyRowOf(() => t.request({ method: "POST", url: "/v1/deliveries/retry", body: {} }));
    expect(retry).toMatchObject({ action: "deliveries.retry", after: { retried: 0 } });
  });

  it("records a policy reload with the file's hash and policies before and after, never its text", async () => {
    writeFileSync(
      t.policiesPath as string,
      `${POLICIES}  - name: ranking\n    match: { model: ranker }\n    max_age: 60d\n`,
    );
    const row = await onlyRowOf(() => t.request({ method: "POST", url: "/v1/policies/reload", body: {} }));
    expect(row).toMatchObject({
      action: "policies.reload",
      target: "policies",
      before: { path: t.policiesPath, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), policies: ["fraud"] },
      after: { path: t.policiesPath, policies: ["fraud", "ranking"] },
    });
    expect((row.before as { sha256: string }).sha256).not.toBe((row.after as { sha256: string }).sha256);
    expect(JSON.stringify(row)).not.toContain("max_age");
  });

  it("records nothing for reads, for a gate verdict, or for telemetry", async () => {
    const { id } = await register();
    const before = await entries();
    for (const url of [
      "/v1/deployments",
      `/v1/deployments/${id}`,
      `/v1/deployments/${id}/events`,
      "/v1/fleet",
      "/v1/audit",
    ]) {
      expect((await t.request({ method: "GET", url })).statusCode, url).toBe(200);
    }
    await t.request({
      method: "POST",
      url: "/v1/models/fraud-gbm/gate",
      body: { candidate_version: "3.2.0" },
    });
    const beat = await t.request({ method: "POST", url: `/v1/deployments/${id}/heartbeat`, body: {} });
    expect(beat.statusCode, beat.body).toBeLessThan(300);
    expect(await entries()).toEqual(before);
  });

  it("records nothing for a refused or failed change: bad input, no token, too little scope, another team, unknown, conflict", async () => {
    const { id } = await register();
    await t.request({ method: "POST", url: `/v1/deployments/${id}/retire`, body: {} });
    const before = await entries();
    const other = await register({ model: "ranker", owner_team: "search" });
    const afterRegister = await entries();
    const refused = [
      await t.request({ method: "POST", url: "/v1/deployments", body: { model: "x" } }),
      await t.request({ method: "POST", url: `/v1/deployments/${other.id}/retire`, body: {}, token: null }),
      await t.request({
        method: "POST",
        url: `/v1/deployments/${other.id}/retire`,
        body: {},
        token: t.tokens.read,
      }),
      await t.request({
        method: "POST",
        url: `/v1/deployments/${other.id}/retire`,
        body: {},
        token: t.tokens.risk,
      }),
      await t.request({ method: "POST", url: "/v1/deployments/999999/retire", body: {} }),
      await t.request({ method: "POST", url: `/v1/deployments/${id}/retire`, body: {} }),
      await t.request({ method: "POST", url: "/v1/policies/reload", body: {}, token: t.tokens.write }),
    ];
    expect(refused.map((r) => r.statusCode)).toEqual([400, 401, 403, 403, 404, 409, 403]);
    writeFileSync(t.policiesPath as string, "policies: [not: valid");
    expect((await t.request({ method: "POST", url: "/v1/policies/reload", body: {} })).statusCode).toBe(422);
    expect(afterRegister.length).toBe(before.length + 1);
    expect(await entries()).toEqual(afterRegister);
  });

  it("lets only an admin token bound to no team read GET /v1/audit", async () => {
    await register();
    const read = (token: string | null) => t.request({ method: "GET", url: "/v1/audit", token });
    expect((await read(null)).statusCode).toBe(401);
    expect((await read(t.tokens.read)).statusCode).toBe(403);
    expect((await read(t.tokens.write)).statusCode).toBe(403);
    expect((await read(t.tokens.risk)).statusCode).toBe(403);
    const ok = await read(t.tokens.admin);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().items).toHaveLength(1);
  });

  it("filters GET /v1/audit by actor, action and since, and pages it with a cursor", async () => {
    const { id } = await register({}, t.tokens.write);
    t.setNow(NOW + 60_000);
    await t.request({ method: "POST", url: `/v1/deployments/${id}/review`, body: { note: "fine" } });
    await t.request({ method: "POST", url: `/v1/deployments/${id}/retire`, body: {} });
    const get = async (query: string) => {
      const res = await t.request({ method: "GET", url: `/v1/audit?${query}` });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { items: { action: string; actor: string }[]; next_cursor: string | null };
    };
    expect((await get("actor=token:write")).items.map((e) => e.action)).toEqual(["deployment.register"]);
    expect((await get("action=deployment.retire")).items.map((e) => e.actor)).toEqual(["token:admin"]);
    expect((await get(`since=${new Date(NOW + 1).toISOString()}`)).items.map((e) => e.action)).toEqual([
      "deployment.retire",
      "deployment.review",
    ]);
    const first = await get("limit=2");
    expect(first.items.map((e) => e.action)).toEqual(["deployment.retire", "deployment.review"]);
    const second = await get(`limit=2&cursor=${first.next_cursor}`);
    expect(second).toEqual({
      items: [expect.objectContaining({ action: "deployment.register" })],
      next_cursor: null,
    });
    for (const bad of ["since=yesterday", "limit=0", "cursor=abc", "action=DROP%20TABLE", "extra=1"]) {
      const res = await t.request({ method: "GET", url: `/v1/audit?${bad}` });
      expect(res.statusCode, bad).toBe(400);
    }
  });

  it("offers no route that changes or removes an entry", async () => {
    await register();
    const before = await entries();
    for (const method of ["PUT", "PATCH", "DELETE", "POST"] as const) {
      for (const url of ["/v1/audit", `/v1/audit/${before[0]?.id}`]) {
        const res = await t.request({ method, url, body: { actor: "someone-else" } });
        expect(res.statusCode, `${method} ${url}`).toBe(404);
      }
    }
    expect(await entries()).toEqual(before);
  });

  it("has decided, for every route that writes, whether it is audited: a new route without a decision fails here", async () => {
    const document = (await t.request({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const writes = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations)
        .filter((method) => !["get", "head", "options"].includes(method))
        .map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
    );
    expect(writes.length).toBeGreaterThan(10);
    const decided = new Set([...Object.keys(AUDITED_ROUTES), ...Object.keys(UNAUDITED_WRITES)]);
    expect(writes.filter((w) => !decided.has(w))).toEqual([]);
    // And neither table names a route that no longer exists.
    for (const key of decided) {
      const [method, url] = key.split(" ") as [string, string];
      if (url === "/k8s/admission") continue; // served only with --k8s-admission
      expect(t.app.hasRoute({ method: method as "POST", url }), key).toBe(true);
    }
  });
});
