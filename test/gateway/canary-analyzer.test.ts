import { afterEach, describe, expect, it } from "vitest";
import { type Context, openContext } from "../../src/context.js";
import { type AnalysisOutcome, CanaryAnalyzer } from "../../src/gateway/canary-analyzer.js";
import { LATENCY_BOUNDS_MS } from "../../src/gateway/traffic-report.js";
import type { TrafficWindows, WindowCounts } from "../../src/gateway/traffic-windows.js";
import { generateToken, hashToken } from "../../src/registry/tokens.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const T0 = Date.parse("2027-01-01T00:00:00Z");
const MINUTE = 60_000;

const POLICIES = `
channels:
  canary-slack: { type: slack, url: "http://127.0.0.1:9/slack" }
defaults:
  notify:
    canary_failed: [canary-slack]
    canary_paused: [canary-slack]
    due: [canary-slack]
`;

/** `requests` requests, `errors` of them errors, every one answered in (10, 20] ms. */
function counts(requests: number, errors: number, bucket = 4): WindowCounts {
  const latency_buckets = new Array<number>(LATENCY_BOUNDS_MS.length + 1).fill(0);
  latency_buckets[bucket] = requests;
  return { requests, errors, timeouts: 0, latency_buckets };
}

/** Traffic the test sets per deployment, the same for every window; records what was asked. */
class FakeTraffic implements TrafficWindows {
  readonly figures = new Map<number, WindowCounts>();
  readonly asked: { ids: number[]; from: number; to: number }[] = [];
  /** Reading these deployments' traffic fails, as a store out of reach would. */
  readonly failing = new Set<number>();
  async window(ids: number[], from: number, to: number): Promise<Map<number, WindowCounts>> {
    if (ids.some((id) => this.failing.has(id))) throw new Error("traffic store out of reach");
    this.asked.push({ ids, from, to });
    const found = new Map<number, WindowCounts>();
    for (const id of ids) {
      const f = this.figures.get(id);
      if (f) found.set(id, f);
    }
    return found;
  }
}

describe.each(dialects())("canary analysis on %s", (dialect) => {
  let t: TestApp;
  let traffic: FakeTraffic;
  let analyzer: CanaryAnalyzer;
  let now: number;
  const others: Context[] = [];

  afterEach(async () => {
    for (const c of others.splice(0)) await c.close();
    await t?.close();
  });

  async function start(policies = POLICIES): Promise<void> {
    now = T0;
    t = await startTestApp(dialect, { now, policies });
    traffic = new FakeTraffic();
    analyzer = t.context.canaryAnalyzer(traffic);
  }

  /** Moves the clock to the next analysis (one interval, past the settling delay) and runs a pass. */
  async function nextAnalysis(a: CanaryAnalyzer = analyzer): Promise<AnalysisOutcome[]> {
    now += MINUTE;
    t.setNow(now + 10_000);
    return a.tick();
  }

  async function deploy(body: Record<string, unknown>): Promise<{ id: number }> {
    const response = await t.request({ method: "POST", url: "/v1/deployments", body: registration(body) });
    expect(response.statusCode, response.body).toBe(201);
    return response.json();
  }

  async function primaryAndCanary(canary: Record<string, unknown>, model = "fraud-gbm") {
    const primary = await deploy({ model, model_version: "1.0.0" });
    const candidate = await deploy({ model, model_version: "2.0.0", role: "canary", canary });
    return { primary: primary.id, canary: candidate.id };
  }

  const get = async (url: string) => {
    const response = await t.request({ method: "GET", url });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };

  it("rolls a failing canary back after failure_limit analyses, with its event, alert and outbox rows", async () => {
    await start();
    const { primary, canary } = await primaryAndCanary({ weight: 10, steps: [10, 50, 100] });
    traffic.figures.set(primary, counts(2000, 10));
    traffic.figures.set(canary, counts(300, 60));

    expect((await nextAnalysis()).map((o) => o.action)).toEqual(["hold"]);
    expect((await nextAnalysis()).map((o) => o.action)).toEqual(["hold"]);
    let row = await t.context.stores.deployments.findDeployment(canary);
    expect(row).toMatchObject({ status: "active", traffic_weight: 10 });
    expect(await nextAnalysis()).toEqual([{ deployment_id: canary, verdict: "fail", action: "rollback" }]);

    row = await t.context.stores.deployments.findDeployment(canary);
    expect(row).toMatchObject({ status: "rolled_back", traffic_weight: 0 });
    expect(await t.context.stores.deployments.findLivePrimary("fraud-gbm", "production")).toMatchObject({
      id: primary,
    });
    const events = (await get(`/v1/deployments/${canary}/events`)).items;
    const rolledBack = events.find((e: { type: string }) => e.type === "canary_rolled_back");
    expect(rolledBack.data).toMatchObject({
      failures: 3,
      weight: 0,
      figures: { canary: { requests: 300, errors: 60, error_rate: 0.2 }, primary: { requests: 2000 } },
    });
    const alerts = (await get(`/v1/alerts?deployment_id=${canary}`)).items;
    expect(alerts).toEqual([expect.objectContaining({ kind: "canary_failed", state: "open" })]);
    expect(alerts[0].summary).toMatch(/rolled back after 3 failed analyses: the canary's error rate 20\.00%/);
    const deliveries = (await get("/v1/deliveries")).items;
    expect(deliveries).toEqual([
      expect.objectContaining({ alert_id: alerts[0].id, channel: "canary-slack", action: "trigger" }),
    ]);
    const view = await get("/v1/models/fraud-gbm/canary");
    expect(view).toMatchObject({ state: "rolled_back", weight: 0, failures: 3, next_analysis_at: null });
    expect(view.analyses.map((a: { verdict: string; action: string }) => [a.verdict, a.action])).toEqual([
      ["fail", "rollback"],
      ["fail", "hold"],
      ["fail", "hold"],
    ]);
    // The analyses' windows follow one another: none overlaps, none leaves a gap.
    expect(traffic.asked.map((a) => [a.from - T0, a.to - T0])).toEqual([
      [0, MINUTE],
      [MINUTE, 2 * MINUTE],
      [2 * MINUTE, 3 * MINUTE],
    ]);

    // A sweep never concludes canary_failed: it neither resolves the alert nor closes it with the deployment.
    const sweep = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    expect(sweep.statusCode, sweep.body).toBe(201);
    expect((await get(`/v1/alerts?deployment_id=${canary}`)).items[0].state).toBe("open");
    // Rolled back, it is analysed no more.
    expect(await nextAnalysis()).toEqual([]);

    // A person closes it once dealt with: who, when and what is an event, and its channel is told.
    const resolve = (id: number, body: unknown, token?: string) =>
      t.request({ method: "POST", url: `/v1/alerts/${id}/resolve`, body, ...(token ? { token } : {}) });
    const alertId = alerts[0].id as number;
    expect((await resolve(alertId, { note: "checked" }, t.tokens.read)).statusCode).toBe(403);
    const otherTeam = generateToken();
    await t.context.stores.tokens.insert({
      name: "growth",
      token_hash: hashToken(otherTeam),
      scope: "write",
      owner_team: "growth",
      created_at: now,
    });
    expect((await resolve(alertId, { note: "checked" }, otherTeam)).statusCode).toBe(403);
    const empty = await resolve(alertId, { note: "" });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().errors).toEqual([expect.objectContaining({ field: "note" })]);
    expect((await resolve(999_999, { note: "checked" })).statusCode).toBe(404);
    expect((await get(`/v1/alerts?deployment_id=${canary}`)).items[0].state).toBe("open");
    const resolved = await resolve(alertId, { note: "the feature pipeline of 2.0.0 was fixed" });
    expect(resolved.statusCode, resolved.body).toBe(200);
    expect(resolved.json()).toMatchObject({ id: alertId, state: "resolved", resolution: "acknowledged" });
    const again = await resolve(alertId, { note: "twice" });
    expect(again.statusCode).toBe(409);
    expect(again.json().detail).toMatch(/already resolved \(acknowledged\)/);
    const closing = (await get(`/v1/deployments/${canary}/events`)).items.at(-1);
    expect(closing).toMatchObject({
      type: "alert_resolved",
      actor: "token:admin",
      data: { alert_id: alertId, kind: "canary_failed", note: "the feature pipeline of 2.0.0 was fixed" },
    });
    expect((await get("/v1/deliveries")).items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ alert_id: alertId, channel: "canary-slack", action: "resolve" }),
      ]),
    );
  });

  it("refuses to close by hand an alert that a sweep concludes, saying what closes it", async () => {
    await start();
    const old = await deploy({
      model: "aged-gbm",
      model_version: "1.0.0",
      deployment_date: new Date(T0 - 400 * 86_400_000).toISOString(),
      training_data_cutoff: new Date(T0 - 410 * 86_400_000).toISOString(),
    });
    const sweep = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    expect(sweep.statusCode, sweep.body).toBe(201);
    const [alert] = (await get(`/v1/alerts?deployment_id=${old.id}`)).items;
    expect(alert).toMatchObject({ kind: "expired", state: "open" });
    const refused = await t.request({
      method: "POST",
      url: `/v1/alerts/${alert.id}/resolve`,
      body: { note: "fine" },
    });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().detail).toBe(
      `an expired alert is not closed by hand: review the deployment (tenure review ${old.id}) or end it`,
    );
    expect((await get(`/v1/alerts?deployment_id=${old.id}`)).items[0].state).toBe("open");
  });

  it("never promotes an inconclusive canary, and pauses it with an alert after inconclusive_limit in a row", async () => {
    await start();
    const { primary, canary } = await primaryAndCanary({ steps: [10, 100], inconclusive_limit: 3 });
    traffic.figures.set(primary, counts(2000, 0));
    // Perfect, but too few requests to tell.
    traffic.figures.set(canary, counts(40, 0));
    const actions: string[] = [];
    for (let i = 0; i < 3; i++)
      actions.push(...(await nextAnalysis()).map((o) => `${o.verdict}:${o.action}`));
    expect(actions).toEqual(["inconclusive:hold", "inconclusive:hold", "inconclusive:pause"]);

    const row = await t.context.stores.deployments.findDeployment(canary);
    expect(row).toMatchObject({ status: "active", role: "canary", traffic_weight: 10 });
    const view = await get("/v1/models/fraud-gbm/canary");
    expect(view).toMatchObject({ state: "paused", step_index: 0, weight: 10, inconclusive_streak: 3 });
    expect(view.analyses[0].reasons).toEqual([expect.stringMatching(/canary answered 40 requests/)]);
    const alerts = (await get(`/v1/alerts?deployment_id=${canary}`)).items;
    expect(alerts).toEqual([expect.objectContaining({ kind: "canary_paused", state: "open" })]);
    const events = (await get(`/v1/deployments/${canary}/events`)).items.map((e: { type: string }) => e.type);
    expect(events).toEqual(["deployed", "canary_paused"]);

    // Paused, it is not analysed, however long it waits; the sweep leaves its alert open.
    for (let i = 0; i < 3; i++) expect(await nextAnalysis()).toEqual([]);
    const sweep = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    expect(sweep.statusCode, sweep.body).toBe(201);
    expect((await get(`/v1/alerts?deployment_id=${canary}`)).items[0].state).toBe("open");
  });

  it("counts no traffic at all as inconclusive, never as a pass", async () => {
    await start();
    await primaryAndCanary({ steps: [10, 100], inconclusive_limit: 100 });
    for (let i = 0; i < 5; i++) {
      expect((await nextAnalysis()).map((o) => o.verdict)).toEqual(["inconclusive"]);
    }
    expect((await get("/v1/models/fraud-gbm/canary")).weight).toBe(10);
  });

  it("walks a passing canary through its steps and makes it the primary through supersession", async () => {
    await start();
    const { primary, canary } = await primaryAndCanary({
      weight: 10,
      steps: [10, 50, 100],
      sticky_header: "X-User",
    });
    traffic.figures.set(primary, counts(2000, 10));
    traffic.figures.set(canary, counts(500, 2));
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      for (const o of await nextAnalysis()) seen.push(o.action);
      const row = await t.context.stores.deployments.findDeployment(canary);
      seen.push(String(row?.traffic_weight));
    }
    expect(seen).toEqual(["advance", "50", "advance", "100", "promote", "null"]);

    expect(await t.context.stores.deployments.findDeployment(canary)).toMatchObject({
      role: "primary",
      status: "active",
      sticky_header: "X-User",
    });
    expect(await t.context.stores.deployments.findDeployment(primary)).toMatchObject({
      status: "superseded",
    });
    const events = (await get("/v1/models/fraud-gbm/events")).items.map(
      (e: { deployment_id: number; type: string; data: Record<string, unknown> }) => [
        e.deployment_id,
        e.type,
        e.data.weight ?? null,
      ],
    );
    expect(events).toEqual([
      [primary, "deployed", null],
      [canary, "deployed", null],
      [canary, "canary_promoted", 50],
      [canary, "canary_promoted", 100],
      [canary, "promoted", null],
      [primary, "superseded", null],
      [canary, "canary_promoted", 100],
    ]);
    expect(await get("/v1/models/fraud-gbm/canary")).toMatchObject({ state: "promoted", weight: null });
    expect(await nextAnalysis()).toEqual([]);
  });

  it("wakes the dispatcher when its promotion resolves the replaced primary's alert, though it opens none", async () => {
    await start();
    const { primary, canary } = await primaryAndCanary({ weight: 10, steps: [10, 100] });
    const row = await t.context.stores.deployments.findDeployment(primary);
    if (!row) throw new Error("the primary was not registered");
    const due = { kind: "due" as const, severity: "warning" as const, summary: "1.0.0 is due", detail: {} };
    await t.context.stores.transaction((tx) => t.context.incidents.open(tx, [{ row, finding: due }], now));
    let woken = 0;
    const watched = new CanaryAnalyzer({
      stores: t.context.stores,
      registry: t.context.registry,
      incidents: t.context.incidents,
      traffic,
      clock: t.context.clock,
      onNotifications: () => woken++,
    });
    traffic.figures.set(primary, counts(2000, 10));
    traffic.figures.set(canary, counts(500, 2));
    expect((await nextAnalysis(watched)).map((o) => o.action)).toEqual(["advance"]);
    expect(woken).toBe(0);
    expect((await nextAnalysis(watched)).map((o) => o.action)).toEqual(["promote"]);
    // The take-over resolved the primary's due alert in its transaction and queued Slack's notice.
    const resolved = await t.context.database.db
      .selectFrom("deliveries")
      .innerJoin("alerts", "alerts.id", "deliveries.alert_id")
      .select(["alerts.deployment_id", "deliveries.action", "alerts.resolution"])
      .where("deliveries.action", "=", "resolve")
      .execute();
    expect(resolved).toEqual([{ deployment_id: primary, action: "resolve", resolution: "superseded" }]);
    expect(woken).toBe(1);
  });

  it("holds a passing canary that has no steps: only steps promote", async () => {
    await start();
    const { primary, canary } = await primaryAndCanary({ weight: 5 });
    traffic.figures.set(primary, counts(2000, 10));
    traffic.figures.set(canary, counts(500, 2));
    for (let i = 0; i < 3; i++) expect((await nextAnalysis()).map((o) => o.action)).toEqual(["hold"]);
    expect(await t.context.stores.deployments.findDeployment(canary)).toMatchObject({
      role: "canary",
      traffic_weight: 5,
    });
  });

  it("lets two analyzers on one database analyse each due canary once", async () => {
    await start();
    const other = await openContext(t.database.url, { clock: () => now + 10_000 });
    others.push(other);
    const second = other.canaryAnalyzer(traffic);
    const models = ["m-a", "m-b", "m-c", "m-d"];
    const ids: number[] = [];
    for (const model of models) {
      const { primary, canary } = await primaryAndCanary({ weight: 10, inconclusive_limit: 100 }, model);
      traffic.figures.set(primary, counts(2000, 0));
      traffic.figures.set(canary, counts(500, 0));
      ids.push(canary);
    }
    for (let round = 0; round < 3; round++) {
      now += MINUTE;
      t.setNow(now + 10_000);
      if (dialect === "postgres") {
        const [a, b] = await Promise.all([analyzer.tick(), second.tick()]);
        expect([...a, ...b].map((o) => o.deployment_id).sort()).toEqual([...ids].sort());
      } else {
        // One process holds both SQLite connections, whose waits for the write lock block each
        // other's thread: the race is played out in turn instead. The second analyzer read the
        // same due canaries before the first claimed them, and must lose every claim.
        const stale = await other.stores.canaries.dueCanaries(now + 10_000, 50);
        expect(stale).toHaveLength(ids.length);
        expect((await analyzer.tick()).map((o) => o.deployment_id).sort()).toEqual([...ids].sort());
        for (const row of stale) expect(await second.analyse(row)).toBeUndefined();
      }
    }
    for (const id of ids) {
      const analyses = await t.context.stores.canaries.listAnalyses(id, 10);
      expect(analyses).toHaveLength(3);
      expect(new Set(analyses.map((a) => a.window_start)).size).toBe(3);
    }
  });

  it("goes on with the other canaries when one's traffic cannot be read, and tries it again an interval later", async () => {
    await start();
    const a = await primaryAndCanary({ weight: 10 }, "m-a");
    const b = await primaryAndCanary({ weight: 10 }, "m-b");
    traffic.failing.add(a.canary);
    expect((await nextAnalysis()).map((o) => o.deployment_id)).toEqual([b.canary]);
    traffic.failing.clear();
    const next = await nextAnalysis();
    expect(next.map((o) => o.deployment_id).sort()).toEqual([a.canary, b.canary].sort());
    // The failed window was not lost: the retry covers it.
    const [analysis] = await t.context.stores.canaries.listAnalyses(a.canary, 1);
    expect([analysis?.window_start, analysis?.window_end]).toEqual([T0, T0 + 2 * MINUTE]);
  });

  it("skips a canary whose deployment was retired by hand, and stops analysing it", async () => {
    await start();
    const { canary } = await primaryAndCanary({ weight: 10 });
    const retired = await t.request({ method: "POST", url: `/v1/deployments/${canary}/retire`, body: {} });
    expect(retired.statusCode, retired.body).toBe(200);
    expect(await nextAnalysis()).toEqual([{ deployment_id: canary, verdict: null, action: "ended" }]);
    expect(await nextAnalysis()).toEqual([]);
    expect((await get("/v1/models/fraud-gbm/canary")).state).toBe("ended");
  });
});
