import type { LightMyRequestResponse } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateToken } from "../../src/registry/tokens.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const DAY = 86_400_000;

type Method = "GET" | "POST" | "PUT";

/** Asserts a 401 as RFC 6750 §3 and RFC 9457 want it: a Bearer challenge and a problem body. */
function expectUnauthenticated(res: LightMyRequestResponse, what: string): void {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(401);
  expect(res.headers["www-authenticate"], what).toMatch(/^Bearer\b/);
  expectProblem(res, 401, what);
}

function expectProblem(res: LightMyRequestResponse, status: number, what: string): void {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(status);
  expect(res.headers["content-type"], what).toMatch(/^application\/problem\+json/);
  expect(res.json(), what).toMatchObject({
    type: expect.any(String),
    title: expect.any(String),
    status,
    detail: expect.any(String),
  });
}

/** Every row of the registry's tables, to show a refused request changed nothing. */
async function registryState(t: TestApp): Promise<Record<string, string[]>> {
  const db = t.context.database.db;
  const tables = ["models", "model_versions", "deployments", "deployment_events", "golden_versions"] as const;
  const state: Record<string, string[]> = {};
  for (const table of tables) {
    state[table] = (await db.selectFrom(table).selectAll().execute())
      .map((row) => JSON.stringify(row))
      .sort();
  }
  return state;
}

/** The registry of a database nothing was registered in. */
const EMPTY = { models: [], model_versions: [], deployments: [], deployment_events: [], golden_versions: [] };

describe.each(dialects())("authentication and authorization on %s", (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW });
  });
  afterEach(async () => {
    await t.close();
  });

  const call = (
    method: Method,
    url: string,
    body?: unknown,
    token?: string | null,
    headers?: Record<string, string>,
  ) => t.request({ method, url, body, token, headers });

  /** fraud-gbm (team risk): 3.2.0 superseded by the live 3.3.0; returns the live deployment's id. */
  const registerRisk = async (): Promise<number> => {
    const old = registration({ deployment_date: new Date(NOW - 10 * DAY).toISOString() });
    expect((await call("POST", "/v1/deployments", old)).statusCode).toBe(201);
    const live = await call("POST", "/v1/deployments", registration({ model_version: "3.3.0" }));
    expect(live.statusCode).toBe(201);
    return live.json().id;
  };

  /** recsys (team growth), registered by the admin token; returns its live deployment's id. */
  const registerGrowth = async (): Promise<number> => {
    const growth = registration({ model: "recsys", model_version: "1.0.0", owner_team: "growth" });
    const res = await call("POST", "/v1/deployments", growth);
    expect(res.statusCode).toBe(201);
    return res.json().id;
  };

  /** One request to each mutating route, each of which the admin token would be granted. */
  const mutations = (live: number): [Method, string, unknown][] => [
    ["POST", "/v1/deployments", registration({ model_version: "3.4.0" })],
    ["POST", `/v1/deployments/${live}/retire`, { reason: "end of life" }],
    ["PUT", "/v1/models/fraud-gbm/golden", { model_version: "3.2.0" }],
    ["POST", "/v1/models/fraud-gbm/rollback", { to_version: "3.2.0" }],
  ];

  const reads = (live: number): string[] => [
    "/v1/deployments",
    `/v1/deployments/${live}`,
    `/v1/deployments/${live}/events`,
    "/v1/models",
    "/v1/models/fraud-gbm",
    "/v1/models/fraud-gbm/performance",
    "/v1/models/fraud-gbm/drift",
  ];

  it("refuses every mutating route without a token with 401, a Bearer challenge and problem+json, changing nothing", async () => {
    const live = await registerRisk();
    const before = await registryState(t);
    for (const [method, url, body] of mutations(live)) {
      expectUnauthenticated(await call(method, url, body, null), `${method} ${url}`);
    }
    expect(await registryState(t)).toEqual(before);
  });

  it.each<[string, (token: string) => string]>([
    ["another scheme", () => "Basic dXNlcjpwYXNz"],
    ["the scheme alone", () => "Bearer"],
    ["an empty token", () => "Bearer "],
    ["the token without a scheme", (token) => token],
    ["a token after an unknown scheme", (token) => `Token ${token}`],
    ["a trailing word", (token) => `Bearer ${token} extra`],
    ["two tokens", (token) => `Bearer ${token}, Bearer ${token}`],
    ["characters no token has", (token) => `Bearer ${token}ä`],
    ["a token of 600 characters", () => `Bearer ${"a".repeat(600)}`],
    ["an empty header", () => ""],
  ])(
    "refuses a malformed Authorization header (%s) with 401, and registers nothing",
    async (_what, header) => {
      const res = await call("POST", "/v1/deployments", registration(), null, {
        authorization: header(t.tokens.admin),
      });
      expectUnauthenticated(res, header(t.tokens.admin));
      expect(await registryState(t)).toEqual(EMPTY);
    },
  );

  it("refuses a well-formed token that was never issued with 401, on reads and changes", async () => {
    const stranger = generateToken();
    expectUnauthenticated(await call("POST", "/v1/deployments", registration(), stranger), "POST");
    expectUnauthenticated(await call("GET", "/v1/deployments", undefined, stranger), "GET");
    expect(await registryState(t)).toEqual(EMPTY);
  });

  it("accepts the Bearer scheme in any letter case, as RFC 9110 §11.1 makes schemes case-insensitive", async () => {
    const lower = await call("POST", "/v1/deployments", registration(), null, {
      authorization: `bearer ${t.tokens.write}`,
    });
    expect(lower.statusCode, lower.body).toBe(201);
    const upper = await call("GET", "/v1/deployments", undefined, null, {
      authorization: `BEARER ${t.tokens.read}`,
    });
    expect(upper.statusCode, upper.body).toBe(200);
  });

  it("lets a read token list and read, and refuses it every change with 403 problem+json, changing nothing", async () => {
    const live = await registerRisk();
    for (const url of reads(live)) {
      expect((await call("GET", url, undefined, t.tokens.read)).statusCode, url).toBe(200);
    }
    const listed = await call("GET", "/v1/deployments", undefined, t.tokens.read);
    expect(listed.json().items).toHaveLength(2);
    const before = await registryState(t);
    for (const [method, url, body] of mutations(live)) {
      expectProblem(await call(method, url, body, t.tokens.read), 403, `${method} ${url}`);
    }
    expect(await registryState(t)).toEqual(before);
  });

  it("lets a write token register, and records it as the deployment's creator and the event's actor", async () => {
    const res = await call("POST", "/v1/deployments", registration(), t.tokens.write);
    expect(res.statusCode).toBe(201);
    expect(res.json().created_by).toBe("token:write");
    const events = (await call("GET", `/v1/deployments/${res.json().id}/events`)).json().items;
    expect(events).toEqual([expect.objectContaining({ type: "deployed", actor: "token:write" })]);
  });

  it("lets a token bound to team risk register, retire, set golden and roll back team risk's models", async () => {
    const risk = t.tokens.risk;
    const first = await call("POST", "/v1/deployments", registration(), risk);
    expect(first.statusCode, first.body).toBe(201);
    const second = await call("POST", "/v1/deployments", registration({ model_version: "3.3.0" }), risk);
    expect(second.statusCode, second.body).toBe(201);
    const golden = await call("PUT", "/v1/models/fraud-gbm/golden", { model_version: "3.2.0" }, risk);
    expect(golden.statusCode, golden.body).toBe(200);
    expect(golden.json().environments[0].golden_version).toBe("3.2.0");
    const rollback = await call("POST", "/v1/models/fraud-gbm/rollback", { reason: "drift" }, risk);
    expect(rollback.statusCode, rollback.body).toBe(200);
    expect(rollback.json().rolled_back.id).toBe(second.json().id);
    const restored = rollback.json().deployment.id;
    const retire = await call("POST", `/v1/deployments/${restored}/retire`, { reason: "replaced" }, risk);
    expect(retire.statusCode, retire.body).toBe(200);
    expect(retire.json()).toMatchObject({ status: "retired", created_by: "token:write-risk" });
  });

  it("refuses a token bound to team risk with 403 on team growth's models, and nothing changes", async () => {
    const growthLive = await registerGrowth();
    const risk = t.tokens.risk;
    const before = await registryState(t);
    const attempts: [Method, string, unknown][] = [
      [
        "POST",
        "/v1/deployments",
        registration({ model: "recsys", model_version: "2.0.0", owner_team: "growth" }),
      ],
      ["POST", "/v1/deployments", registration({ model: "new-growth-model", owner_team: "growth" })],
      ["POST", `/v1/deployments/${growthLive}/retire`, { reason: "not mine" }],
      ["PUT", "/v1/models/recsys/golden", { model_version: "1.0.0" }],
      ["POST", "/v1/models/recsys/rollback", { to_version: "1.0.0" }],
    ];
    for (const [method, url, body] of attempts) {
      const res = await call(method, url, body, risk);
      expectProblem(res, 403, `${method} ${url}`);
      expect(res.json().detail).toContain("team risk");
    }
    // Claiming the model for team risk does not take it over either.
    const claim = await call(
      "POST",
      "/v1/deployments",
      registration({ model: "recsys", model_version: "2.0.0" }),
      risk,
    );
    expectProblem(claim, 409, "claim recsys for team risk");
    expect(await registryState(t)).toEqual(before);
    // Reading another team's models is not a change: it is allowed.
    expect((await call("GET", `/v1/deployments/${growthLive}`, undefined, risk)).statusCode).toBe(200);
  });

  it("refuses a revoked token with 401 at once, and keeps accepting the tokens not revoked", async () => {
    expect((await call("POST", "/v1/deployments", registration(), t.tokens.write)).statusCode).toBe(201);
    const rows = await t.context.stores.tokens.list();
    for (const name of ["write", "read"]) {
      const id = rows.find((row) => row.name === name)?.id;
      expect(id, name).toEqual(expect.any(Number));
      expect(await t.context.stores.tokens.revoke(id as number, NOW)).toBe(true);
    }
    const before = await registryState(t);
    const again = registration({ model_version: "3.3.0" });
    expectUnauthenticated(await call("POST", "/v1/deployments", again, t.tokens.write), "revoked write");
    expectUnauthenticated(await call("GET", "/v1/deployments", undefined, t.tokens.read), "revoked read");
    expect(await registryState(t)).toEqual(before);
    expect((await call("GET", "/v1/deployments", undefined, t.tokens.admin)).statusCode).toBe(200);
    expect((await call("POST", "/v1/deployments", again, t.tokens.risk)).statusCode).toBe(201);
  });

  it("refuses every read without a token with 401 and a Bearer challenge when reads are not public", async () => {
    const live = await registerRisk();
    for (const url of reads(live)) expectUnauthenticated(await call("GET", url, undefined, null), url);
    // Health and the API description are for anyone, load balancers and client generators alike.
    expect((await call("GET", "/healthz", undefined, null)).statusCode).toBe(200);
    expect((await call("GET", "/openapi.json", undefined, null)).statusCode).toBe(200);
  });

  it("serves reads without a token under publicRead, but still requires one for every change", async () => {
    const open = await startTestApp(dialect, { now: NOW, publicRead: true });
    try {
      const registered = await open.request({ method: "POST", url: "/v1/deployments", body: registration() });
      expect(registered.statusCode).toBe(201);
      const live = registered.json().id;
      for (const url of reads(live)) {
        const res = await open.request({ method: "GET", url, token: null });
        expect(res.statusCode, url).toBe(200);
      }
      expect(
        (await open.request({ method: "GET", url: "/v1/deployments", token: null })).json().items,
      ).toHaveLength(1);
      const before = await registryState(open);
      for (const [method, url, body] of mutations(live)) {
        expectUnauthenticated(await open.request({ method, url, body, token: null }), `${method} ${url}`);
      }
      // A token sent with a public read is still checked: a revoked or mistyped one is not ignored.
      const stranger = await open.request({ method: "GET", url: "/v1/deployments", token: generateToken() });
      expectUnauthenticated(stranger, "GET with an unknown token");
      expect(await registryState(open)).toEqual(before);
    } finally {
      await open.close();
    }
  });

  it("records the actor of every change as token:<name>", async () => {
    const first = await call("POST", "/v1/deployments", registration(), t.tokens.admin);
    const second = await call(
      "POST",
      "/v1/deployments",
      registration({ model_version: "3.3.0" }),
      t.tokens.write,
    );
    expect([first.statusCode, second.statusCode]).toEqual([201, 201]);
    const golden = await call(
      "PUT",
      "/v1/models/fraud-gbm/golden",
      { model_version: "3.2.0" },
      t.tokens.risk,
    );
    expect(golden.statusCode).toBe(200);
    const rollback = await call("POST", "/v1/models/fraud-gbm/rollback", {}, t.tokens.risk);
    expect(rollback.statusCode).toBe(200);
    const restored = rollback.json().deployment.id;
    expect((await call("POST", `/v1/deployments/${restored}/retire`, {}, t.tokens.write)).statusCode).toBe(
      200,
    );

    const events = await t.context.stores.deployments.listModelEvents("fraud-gbm");
    expect(events.map((e) => [e.type, e.deployment_id, e.actor])).toEqual([
      ["deployed", first.json().id, "token:admin"],
      ["deployed", second.json().id, "token:write"],
      ["superseded", first.json().id, "token:write"],
      ["golden_set", null, "token:write-risk"],
      ["deployed", restored, "token:write-risk"],
      ["rolled_back", second.json().id, "token:write-risk"],
      ["retired", restored, "token:write"],
    ]);
    const viaApi = (await call("GET", `/v1/deployments/${second.json().id}/events`)).json().items;
    expect(viaApi.map((e: { actor: string }) => e.actor)).toEqual(["token:write", "token:write-risk"]);
  });
});
