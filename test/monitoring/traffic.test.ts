import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { histogramQuantile } from "../../src/core/histogram-quantile.js";
import { LATENCY_BOUNDS_MS } from "../../src/gateway/traffic-report.js";
import { BUCKET_COLUMNS } from "../../src/store/traffic-store.js";
import { dialects } from "../support/databases.js";
import { type Receiver, startReceiver } from "../support/receivers.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const MINUTE = 60_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");

const policies = `
channels:
  team-slack: { type: slack, url: "\${SLACK_URL}" }
policies:
  - name: served
    match: { model: "fraud-*" }
    silence_after: 2d
    notify: { silent: [team-slack], version_mismatch: [team-slack] }
`;

/** A latency histogram of `n` requests, all in the bucket of bound `boundMs`. */
const bucketsOf = (n: number, boundMs: number) => {
  const buckets = new Array(LATENCY_BOUNDS_MS.length + 1).fill(0);
  buckets[LATENCY_BOUNDS_MS.indexOf(boundMs as (typeof LATENCY_BOUNDS_MS)[number])] = n;
  return buckets;
};

const traffic = (deployment_id: number, at: number, changes: Record<string, unknown> = {}) => ({
  deployment_id,
  window_start: at,
  window_end: at + 5000,
  requests: 10,
  errors: 1,
  timeouts: 1,
  latency_buckets: bucketsOf(10, 50),
  latency_sum_ms: 400,
  ...changes,
});

describe("the bucket columns", () => {
  it("hold one bucket per latency bound and the overflow", () => {
    expect(BUCKET_COLUMNS).toHaveLength(LATENCY_BOUNDS_MS.length + 1);
  });
});

describe.each(dialects())("traffic API on %s", (dialect) => {
  let t: TestApp;
  let slack: Receiver;

  beforeAll(async () => {
    slack = await startReceiver("slack");
  });
  afterAll(async () => {
    await slack.close();
  });
  afterEach(async () => {
    await t?.close();
    slack.received.length = 0;
  });

  const start = async () => {
    t = await startTestApp(dialect, { now: T0, policies, env: { SLACK_URL: slack.url } });
  };
  const deploy = async (overrides: Record<string, unknown> = {}) => {
    const res = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ training_data_cutoff: "2026-12-25", ...overrides }),
    });
    expect(res.statusCode, res.body).toBe(201);
    return (res.json() as { id: number }).id;
  };
  const report = (body: unknown, token?: string) =>
    t.request({ method: "POST", url: "/v1/traffic", body, token: token ?? t.tokens.write });
  const sweep = async (at: number) => {
    t.setNow(at);
    const res = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    expect(res.statusCode, res.body).toBe(201);
    await t.context.dispatcher.drain(5_000);
    return res.json();
  };
  const alerts = async () => (await t.request({ method: "GET", url: "/v1/alerts" })).json().items;
  const row = async (id: number) => t.context.stores.deployments.findDeployment(id);

  it("adds gateways' reports up per deployment and minute, so a window's counts and p99 come from the sum", async () => {
    await start();
    const id = await deploy();
    const other = await deploy({ model: "fraud-lgbm" });
    const first = await report({
      gateway: "gw-1",
      deployments: [traffic(id, T0 + 1000), traffic(other, T0 + 2000, { errors: 0, timeouts: 0 })],
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toEqual({
      deployments: 2,
      skipped_unknown: 0,
      skipped_ended: 0,
      skipped_forbidden: 0,
      ghosts: 0,
      pairs: 0,
      predictions: 0,
    });
    // A second gateway, the same minute; and the next minute.
    await report({
      gateway: "gw-2",
      deployments: [traffic(id, T0 + 30_000, { latency_buckets: bucketsOf(10, 500), latency_sum_ms: 4000 })],
    });
    await report({ gateway: "gw-1", deployments: [traffic(id, T0 + MINUTE + 1000)] });

    const window = await t.context.stores.traffic.window([id, other], T0, T0 + MINUTE);
    expect(window.get(id)).toEqual({
      requests: 20,
      errors: 2,
      timeouts: 2,
      latency_sum_ms: 4400,
      shadow_skipped_oversize: 0,
      latency_buckets: bucketsOf(10, 50).map((n, i) => n + (bucketsOf(10, 500)[i] ?? 0)),
    });
    expect(window.get(other)?.requests).toBe(10);
    const both = await t.context.stores.traffic.window([id], T0, T0 + 2 * MINUTE);
    expect(both.get(id)?.requests).toBe(30);
    // p99 of 10 at ≤ 50 ms and 10 at ≤ 500 ms: rank 19.8 is 9.8 of the 10 in (300, 500].
    const p99 = histogramQuantile(0.99, LATENCY_BOUNDS_MS, window.get(id)?.latency_buckets ?? []);
    expect(p99).toBeCloseTo(300 + 200 * 0.98, 9);
    expect((await t.context.stores.traffic.window([id], T0 + 2 * MINUTE, T0 + 3 * MINUTE)).size).toBe(0);
  });

  it("skips and counts deployments it does not know, that have ended, or of another team's token", async () => {
    await start();
    const live = await deploy();
    const ended = await deploy({ model: "fraud-old" });
    const retired = await t.request({ method: "POST", url: `/v1/deployments/${ended}/retire`, body: {} });
    expect(retired.statusCode, retired.body).toBe(200);
    const otherTeam = await deploy({ model: "fraud-ads", owner_team: "ads" });
    const res = await report(
      {
        gateway: "gw-1",
        deployments: [traffic(live, T0), traffic(ended, T0), traffic(999_999, T0), traffic(otherTeam, T0)],
      },
      t.tokens.risk,
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      deployments: 1,
      skipped_unknown: 1,
      skipped_ended: 1,
      skipped_forbidden: 1,
    });
    const window = await t.context.stores.traffic.window([live, ended, otherTeam], T0, T0 + MINUTE);
    expect([...window.keys()]).toEqual([live]);
  });

  it.each([
    ["more errors than requests", { deployments: [{ errors: 11 }] }, "deployments.0.errors"],
    ["more timeouts than errors", { deployments: [{ errors: 0 }] }, "deployments.0.timeouts"],
    [
      "buckets that do not add up",
      { deployments: [{ latency_buckets: bucketsOf(9, 50) }] },
      "deployments.0.latency_buckets",
    ],
    [
      "a window that ends before it starts",
      { deployments: [{ window_end: T0 - 1 }] },
      "deployments.0.window_end",
    ],
    ["a window in the future", { deployments: [{ window_end: T0 + DAY }] }, "deployments.0.window_end"],
    ["too few buckets", { deployments: [{ latency_buckets: [10] }] }, "deployments.0.latency_buckets"],
    ["a negative count", { deployments: [{ requests: -1 }] }, "deployments.0.requests"],
    ["an unknown field", { deployments: [{ rps: 3 }] }, "deployments.0"],
    ["a ghost seen last before first", { ghosts: [{ last_seen: T0 - 1 }] }, "ghosts.0.last_seen"],
    ["a ghost with a control character", { ghosts: [{ model: "a\u0007b" }] }, "ghosts.0.model"],
    ["no gateway", { gateway: undefined }, "gateway"],
  ])(
    "refuses a report with %s as 400 problem+json, naming the field, and changes nothing",
    async (_, change, field) => {
      await start();
      const id = await deploy();
      const body: Record<string, unknown> = {
        gateway: "gw-1",
        deployments: [traffic(id, T0)],
        ghosts: [{ model: "nobody", environment: "production", requests: 1, first_seen: T0, last_seen: T0 }],
      };
      for (const [key, value] of Object.entries(change)) {
        if (Array.isArray(value)) {
          const list = body[key] as Record<string, unknown>[];
          body[key] = [{ ...list[0], ...value[0] }];
        } else body[key] = value;
      }
      const res = await report(body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
      const problem = res.json() as { errors?: { field: string }[] };
      expect(problem.errors?.map((e) => e.field).some((f) => f.startsWith(field))).toBe(true);
      expect((await t.context.stores.traffic.window([id], 0, T0 + DAY)).size).toBe(0);
      expect((await t.request({ method: "GET", url: "/v1/ghosts" })).json().items).toEqual([]);
      expect(await row(id)).toMatchObject({ last_traffic_at: null, version_mismatch_at: null });
    },
  );

  it("needs a token of scope write to report and one of scope read to list ghosts", async () => {
    await start();
    const body = { gateway: "gw-1" };
    expect((await report(body, t.tokens.read)).statusCode).toBe(403);
    expect((await t.request({ method: "POST", url: "/v1/traffic", body, token: null })).statusCode).toBe(401);
    expect((await t.request({ method: "GET", url: "/v1/ghosts", token: null })).statusCode).toBe(401);
    expect((await t.request({ method: "GET", url: "/v1/ghosts", token: t.tokens.read })).statusCode).toBe(
      200,
    );
  });

  it("clears a silent deployment once it serves traffic, and calls one that nothing reaches a zombie", async () => {
    await start();
    const id = await deploy();
    expect(await sweep(T0 + 3 * DAY)).toMatchObject({ findings: { silent: 1 } });
    const [silent] = await alerts();
    expect(silent).toMatchObject({ kind: "silent", state: "open" });
    expect(silent.summary).toMatch(
      /has received no traffic and sent no liveness heartbeat for 3d .*: a zombie$/,
    );
    expect(slack.received).toHaveLength(1);

    // Traffic that only failed proves nothing.
    t.setNow(T0 + 3 * DAY + 10_000);
    await report({
      gateway: "gw-1",
      deployments: [traffic(id, T0 + 3 * DAY, { errors: 10, timeouts: 0 })],
    });
    expect((await row(id))?.last_traffic_at).toBeNull();
    await report({ gateway: "gw-1", deployments: [traffic(id, T0 + 3 * DAY + 5000)] });
    expect((await row(id))?.last_traffic_at).toBe(T0 + 3 * DAY + 10_000);

    expect(await sweep(T0 + 4 * DAY)).toMatchObject({ findings: {}, alerts_resolved: 1 });
    expect(await alerts()).toMatchObject([{ kind: "silent", state: "resolved", resolution: "cleared" }]);
    // Silent again two days after its last traffic: a zombie once more.
    expect(await sweep(T0 + 6 * DAY)).toMatchObject({ findings: { silent: 1 } });
  });

  it("raises version_mismatch when an upstream states another version, alerts by policy, and resolves when reports show the right one", async () => {
    await start();
    const id = await deploy({ model_version: "3.2.0" });
    t.setNow(T0 + 10_000);
    await report({ gateway: "gw-1", deployments: [traffic(id, T0, { mismatched_version: "3.1.9" })] });
    expect(await row(id)).toMatchObject({ reported_version: "3.1.9", version_mismatch_at: T0 + 5000 });

    expect(await sweep(T0 + 60_000)).toMatchObject({ findings: { version_mismatch: 1 } });
    const [mismatch] = await alerts();
    expect(mismatch).toMatchObject({
      kind: "version_mismatch",
      severity: "error",
      state: "open",
      summary:
        "fraud-gbm 3.2.0 in production is answered by version 3.1.9: its upstream says so, the registry says 3.2.0",
    });
    expect(slack.received).toHaveLength(1);
    expect(JSON.stringify(slack.received[0]?.body)).toMatch(/serving another version than registered/);

    // A late report from before the mismatch does not clear it; one after it does.
    t.setNow(T0 + 70_000);
    await report({ gateway: "gw-2", deployments: [traffic(id, T0 - 10_000)] });
    expect((await row(id))?.version_mismatch_at).toBe(T0 + 5000);
    await report({ gateway: "gw-1", deployments: [traffic(id, T0 + 65_000)] });
    expect(await row(id)).toMatchObject({ reported_version: null, version_mismatch_at: null });
    expect(await sweep(T0 + 120_000)).toMatchObject({ alerts_resolved: 1 });
    expect(await alerts()).toMatchObject([
      { kind: "version_mismatch", state: "resolved", resolution: "cleared" },
    ]);
    expect(slack.received).toHaveLength(2);
  });

  it("lists ghosts most requested first, by environment, a page at a time; a model registered there stops being one", async () => {
    await start();
    const ghost = (model: string, environment: string, requests: number) => ({
      model,
      environment,
      requests,
      first_seen: T0,
      last_seen: T0 + 1000,
    });
    const res = await report({
      gateway: "gw-1",
      ghosts: [
        ghost("fraud-xgb", "production", 5),
        ghost("churn", "production", 9),
        ghost("churn", "staging", 2),
      ],
    });
    expect(res.json()).toMatchObject({ ghosts: 3 });
    await report({
      gateway: "gw-2",
      ghosts: [{ ...ghost("fraud-xgb", "production", 1), first_seen: T0 - 5000 }],
    });

    const list = async (query = "") => {
      const r = await t.request({ method: "GET", url: `/v1/ghosts${query}`, token: t.tokens.read });
      expect(r.statusCode, r.body).toBe(200);
      return r.json() as { items: Record<string, unknown>[]; next_cursor: string | null };
    };
    expect((await list()).items).toEqual([
      {
        model: "churn",
        environment: "production",
        requests: 9,
        first_seen: new Date(T0).toISOString(),
        last_seen: new Date(T0 + 1000).toISOString(),
        last_gateway: "gw-1",
      },
      {
        model: "fraud-xgb",
        environment: "production",
        requests: 6,
        first_seen: new Date(T0 - 5000).toISOString(),
        last_seen: new Date(T0 + 1000).toISOString(),
        last_gateway: "gw-2",
      },
      expect.objectContaining({ model: "churn", environment: "staging", requests: 2 }),
    ]);
    expect((await list("?environment=staging")).items.map((g) => g.model)).toEqual(["churn"]);

    const first = await list("?limit=2");
    expect(first.items.map((g) => g.requests)).toEqual([9, 6]);
    expect(first.next_cursor).toEqual(expect.any(String));
    const second = await list(`?limit=2&cursor=${first.next_cursor}`);
    expect(second).toEqual({ items: [expect.objectContaining({ requests: 2 })], next_cursor: null });

    await deploy({ model: "churn", environment: "staging" });
    expect((await list()).items.map((g) => `${g.model} ${g.environment}`)).toEqual([
      "churn production",
      "fraud-xgb production",
    ]);

    const bad = await t.request({ method: "GET", url: "/v1/ghosts?cursor=bm9wZQ", token: t.tokens.read });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors).toEqual([{ field: "cursor", message: expect.any(String) }]);
    expect((await t.request({ method: "GET", url: "/v1/ghosts?environment=BAD%20ENV" })).statusCode).toBe(
      400,
    );
  });

  it("prunes minutes and ghosts past the retention, and the least recently seen ghosts beyond the cap", async () => {
    await start();
    const id = await deploy();
    const { traffic: store } = t.context.stores;
    await store.addMinutes(
      [0, 1, 2].map((i) => ({
        deployment_id: id,
        minute: T0 + i * MINUTE,
        requests: 1,
        errors: 0,
        timeouts: 0,
        latency_buckets: bucketsOf(1, 50),
        latency_sum_ms: 40,
        shadow_skipped_oversize: 0,
      })),
      T0,
    );
    await store.upsertGhosts(
      [0, 1, 2, 3].map((i) => ({
        model: `g${i}`,
        environment: "production",
        requests: 1,
        first_seen: T0 + i * MINUTE,
        last_seen: T0 + i * MINUTE,
        last_gateway: "gw-1",
      })),
    );
    expect(await store.prune(T0 + MINUTE, 2)).toEqual({ minutes: 1, ghosts: 2 });
    expect((await store.window([id], 0, T0 + DAY)).get(id)?.requests).toBe(2);
    expect((await store.listGhosts({ limit: 10 })).map((g) => g.model).sort()).toEqual(["g2", "g3"]);
  });
});
