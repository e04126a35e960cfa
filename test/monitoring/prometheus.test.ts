import { spawnSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { LATENCY_BOUNDS_MS } from "../../src/gateway/traffic-report.js";
import { dialects } from "../support/databases.js";
import { find, parseExposition, type Sample, sampleValue } from "../support/exposition.js";
import { hasExternalTool } from "../support/external-tool.js";
import { type Receiver, startReceiver } from "../support/receivers.js";
import {
  degradeAndSweep,
  fraudPolicy,
  registerExpiredRecs,
  registerFraud,
} from "../support/rotting-fleet.js";
import { postOk, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const SECRET = "whsec-never-in-metrics";
const policies = (hookUrl: string) => `
channels:
  hook: { type: webhook, url: "${hookUrl}", secret: "${SECRET}" }
policies:
${fraudPolicy(["silence_after: 2d", "notify: { drifted: [hook], degraded: [hook] }"])}
  - name: recs
    match: { model: "recs-*" }
    notify: { expired: [hook] }
`;
const PROMTOOL = "/usr/bin/promtool";
const hasPromtool = hasExternalTool(PROMTOOL, "apt-get install prometheus");
const DEPLOYMENT_LABELS = ["environment", "model", "model_version", "owner_team", "role"];

describe.each(dialects())("GET /metrics on %s", (dialect) => {
  let t: TestApp;
  let hook: Receiver;
  beforeAll(async () => {
    hook = await startReceiver("webhook", { secret: SECRET });
  });
  afterAll(async () => {
    await hook.close();
  });
  afterEach(async () => {
    await t?.close();
    hook.setMode("ok");
    hook.received.length = 0;
  });

  const post = (url: string, body: unknown) => postOk(t, url, body);
  const scrape = async (token?: string | null) => {
    const res = await t.request({ method: "GET", url: "/metrics", token });
    expect(res.statusCode, res.body).toBe(200);
    return { ...parseExposition(res.body), text: res.body, contentType: res.headers["content-type"] };
  };

  /**
   * A fraud model that degraded and drifted and served traffic through a gateway, and an expired
   * shadow in staging; swept on day 6, its notifications delivered (or not) to the webhook.
   */
  const seed = async (
    options: { retry?: { max_attempts: number; base_delay_ms: number; max_delay_ms: number } } = {},
  ) => {
    t = await startTestApp(dialect, {
      now: T0,
      policies: policies(hook.url),
      metrics: true,
      retry: options.retry,
    });
    const fraud = await registerFraud(t);
    const recs = await registerExpiredRecs(t, T0, { environment: "staging", role: "shadow" });
    const swept = await degradeAndSweep(t, T0, fraud, { heartbeat: true });
    expect(swept.findings).toMatchObject({ degraded: 1, drifted: 1, expired: 1 });
    await t.context.dispatcher.drain(5_000);
    // 100 requests: 60 within 50 ms, 37 within 200 ms, 3 failed over 30 s.
    const buckets = new Array(LATENCY_BOUNDS_MS.length + 1).fill(0);
    buckets[LATENCY_BOUNDS_MS.indexOf(50)] = 60;
    buckets[LATENCY_BOUNDS_MS.indexOf(200)] = 37;
    buckets[LATENCY_BOUNDS_MS.length] = 3;
    const windowEnd = T0 + 6 * DAY - 55_000;
    await post("/v1/traffic", {
      gateway: "gw-1",
      deployments: [
        {
          deployment_id: fraud,
          window_start: windowEnd - 5000,
          window_end: windowEnd,
          requests: 100,
          errors: 3,
          timeouts: 2,
          latency_buckets: buckets,
          latency_sum_ms: 12_345,
        },
      ],
      ghosts: [
        { model: "ghost-a", environment: "production", requests: 5, first_seen: T0, last_seen: T0 + DAY },
        { model: "ghost-b", environment: "x", requests: 2, first_seen: T0, last_seen: T0 + DAY },
      ],
    });
    return { fraud, recs, windowEnd };
  };

  const fraudLabels = {
    model: "fraud-gbm",
    model_version: "3.2.0",
    environment: "production",
    owner_team: "risk",
    role: "primary",
  };
  const recsLabels = {
    model: "recs-two-tower",
    model_version: "7",
    environment: "staging",
    owner_team: "growth",
    role: "shadow",
  };

  it("exposes every live deployment's clocks, stage, health, performance and drift as the fleet rows have them", async () => {
    const { windowEnd } = await seed();
    const { samples, contentType } = await scrape(t.tokens.read);
    expect(contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    const fleet = (await t.request({ method: "GET", url: "/v1/fleet/deployments" })).json().items;
    const [recsRow, fraudRow] = fleet;

    // The expired shadow: stage expired is 1, the others 0; its ages are the fleet row's.
    expect(sampleValue(samples, "tenure_deployment_stage", { ...recsLabels, stage: "expired" })).toBe(1);
    expect(sampleValue(samples, "tenure_deployment_stage", { ...recsLabels, stage: "due" })).toBe(0);
    expect(sampleValue(samples, "tenure_deployment_stage", { ...recsLabels, stage: "fresh" })).toBe(0);
    expect(sampleValue(samples, "tenure_deployment_age_seconds", recsLabels)).toBe(
      recsRow.age.deployment_age_seconds,
    );
    expect(sampleValue(samples, "tenure_deployment_age_seconds", recsLabels)).toBe(106 * 86_400);
    expect(sampleValue(samples, "tenure_deployment_ttl_seconds", recsLabels)).toBe(90 * 86_400);
    expect(sampleValue(samples, "tenure_deployment_review_at_seconds", recsLabels)).toBe(72 * 86_400);
    expect(sampleValue(samples, "tenure_deployment_health_score", recsLabels)).toBe(recsRow.age.health_score);
    // What it lacks is absent, not zero.
    for (const name of [
      "tenure_deployment_max_data_age_seconds",
      "tenure_deployment_performance_age_seconds",
      "tenure_deployment_last_seen_timestamp_seconds",
      "tenure_deployment_silence_after_seconds",
      "tenure_deployment_drift_share",
      "tenure_deployment_metric",
    ]) {
      expect(find(samples, name, recsLabels), name).toEqual([]);
    }

    // The degraded, drifted fraud model.
    expect(sampleValue(samples, "tenure_deployment_stage", { ...fraudLabels, stage: "fresh" })).toBe(1);
    expect(sampleValue(samples, "tenure_deployment_age_seconds", fraudLabels)).toBe(6 * 86_400);
    expect(sampleValue(samples, "tenure_deployment_data_age_seconds", fraudLabels)).toBe(
      fraudRow.age.data_age_seconds,
    );
    expect(sampleValue(samples, "tenure_deployment_performance_age_seconds", fraudLabels)).toBe(0);
    expect(sampleValue(samples, "tenure_deployment_max_data_age_seconds", fraudLabels)).toBe(60 * 86_400);
    expect(sampleValue(samples, "tenure_deployment_silence_after_seconds", fraudLabels)).toBe(2 * 86_400);
    const performance = Object.fromEntries(
      find(samples, "tenure_deployment_performance_state", fraudLabels).map((s) => [s.labels.state, s.value]),
    );
    expect(performance).toEqual({ ok: 0, degraded: 1, insufficient_data: 0 });
    const drift = Object.fromEntries(
      find(samples, "tenure_deployment_drift_state", fraudLabels).map((s) => [s.labels.state, s.value]),
    );
    expect(drift).toEqual({ stable: 0, possible: 0, drifted: 1, error: 0 });
    expect(sampleValue(samples, "tenure_deployment_drift_share", fraudLabels)).toBe(fraudRow.drift.share);
    const auc = { ...fraudLabels, metric: "auc" };
    expect(sampleValue(samples, "tenure_deployment_metric", auc)).toBe(0.9);
    expect(sampleValue(samples, "tenure_deployment_metric_target", auc)).toBe(0.92);
    expect(sampleValue(samples, "tenure_deployment_metric_baseline", auc)).toBe(0.95);
    // The gateway's report is newer than the heartbeat.
    expect(sampleValue(samples, "tenure_deployment_last_seen_timestamp_seconds", fraudLabels)).toBe(
      windowEnd / 1000,
    );
    expect(sampleValue(samples, "tenure_deployment_health_score", fraudLabels)).toBe(
      fraudRow.age.health_score,
    );

    // Every per-deployment series carries exactly the deployment's labels and its own.
    const extra: Record<string, string[]> = {
      tenure_deployment_stage: ["stage"],
      tenure_deployment_performance_state: ["state"],
      tenure_deployment_drift_state: ["state"],
      tenure_deployment_metric: ["metric"],
      tenure_deployment_metric_target: ["metric"],
      tenure_deployment_metric_baseline: ["metric"],
    };
    const perDeployment = samples.filter((s) => s.name.startsWith("tenure_deployment_"));
    expect(perDeployment.length).toBeGreaterThan(30);
    for (const s of perDeployment) {
      expect(Object.keys(s.labels).sort(), s.name).toEqual(
        [...DEPLOYMENT_LABELS, ...(extra[s.name] ?? [])].sort(),
      );
    }
  });

  it("counts alerts, sweeps, deliveries and gateway traffic, and never shows a secret", async () => {
    await seed();
    const { samples, text, types } = await scrape();
    expect(sampleValue(samples, "tenure_alerts_open", { kind: "expired" })).toBe(1);
    expect(sampleValue(samples, "tenure_alerts_open", { kind: "degraded", severity: "error" })).toBe(1);
    expect(sampleValue(samples, "tenure_alerts_open", { kind: "drifted", severity: "error" })).toBe(1);
    expect(sampleValue(samples, "tenure_sweeps_total", { outcome: "done" })).toBe(1);
    expect(sampleValue(samples, "tenure_sweeps_total", { outcome: "failed" })).toBe(0);
    expect(sampleValue(samples, "tenure_sweep_duration_seconds_count", { outcome: "done" })).toBe(1);
    expect(sampleValue(samples, "tenure_sweep_last_run_timestamp_seconds")).toBe((T0 + 6 * DAY) / 1000);
    expect(sampleValue(samples, "tenure_sweep_last_success_timestamp_seconds")).toBe((T0 + 6 * DAY) / 1000);
    expect(hook.received).toHaveLength(3);
    expect(
      sampleValue(samples, "tenure_alert_deliveries_total", { channel: "hook", outcome: "delivered" }),
    ).toBe(3);
    expect(find(samples, "tenure_alert_deliveries_dead_lettered")).toEqual([]);

    expect(sampleValue(samples, "tenure_gateway_requests_total", fraudLabels)).toBe(100);
    expect(sampleValue(samples, "tenure_gateway_errors_total", fraudLabels)).toBe(3);
    expect(sampleValue(samples, "tenure_gateway_timeouts_total", fraudLabels)).toBe(2);
    const latency = "tenure_gateway_request_duration_seconds";
    expect(types.get(latency)).toBe("histogram");
    expect(sampleValue(samples, `${latency}_bucket`, { ...fraudLabels, le: "0.02" })).toBe(0);
    expect(sampleValue(samples, `${latency}_bucket`, { ...fraudLabels, le: "0.05" })).toBe(60);
    expect(sampleValue(samples, `${latency}_bucket`, { ...fraudLabels, le: "0.2" })).toBe(97);
    expect(sampleValue(samples, `${latency}_bucket`, { ...fraudLabels, le: "30" })).toBe(97);
    expect(sampleValue(samples, `${latency}_bucket`, { ...fraudLabels, le: "+Inf" })).toBe(100);
    expect(sampleValue(samples, `${latency}_count`, fraudLabels)).toBe(100);
    expect(sampleValue(samples, `${latency}_sum`, fraudLabels)).toBeCloseTo(12.345, 9);
    // Ghosts are counted without the names clients gave them.
    expect(find(samples, "tenure_gateway_ghost_requests_total")).toEqual([
      { name: "tenure_gateway_ghost_requests_total", labels: {}, value: 7 },
    ]);
    expect(text).not.toMatch(/ghost-a|ghost-b/);

    expect(sampleValue(samples, "tenure_build_info", { version: "test" })).toBe(1);
    expect(find(samples, "process_cpu_user_seconds_total")).toHaveLength(1);
    expect(find(samples, "nodejs_heap_size_used_bytes")).toHaveLength(1);
    // Counters end in _total, and every name is Tenure's own or a process metric.
    for (const [name, type] of types) {
      if (type === "counter") expect(name).toMatch(/_total$/);
      expect(name).toMatch(/^(tenure_|process_|nodejs_)/);
    }
    for (const secret of [...Object.values(t.tokens), SECRET, hook.url, new URL(hook.url).pathname]) {
      expect(text).not.toContain(secret);
    }
  });

  it("counts retries and dead letters per channel when a channel keeps failing", async () => {
    hook.setMode("error503");
    await seed({ retry: { max_attempts: 2, base_delay_ms: 10, max_delay_ms: 20 } });
    await t.context.dispatcher.drain(5_000);
    const { samples } = await scrape();
    expect(sampleValue(samples, "tenure_alert_delivery_retries_total", { channel: "hook" })).toBe(3);
    expect(
      sampleValue(samples, "tenure_alert_deliveries_total", { channel: "hook", outcome: "failed" }),
    ).toBe(3);
    expect(sampleValue(samples, "tenure_alert_deliveries_dead_lettered", { channel: "hook" })).toBe(3);
    expect(find(samples, "tenure_alert_deliveries_total", { outcome: "delivered" })).toEqual([]);
  });

  it("drops a deployment's series once it ends, its gateway counters included", async () => {
    const { fraud } = await seed();
    expect(find((await scrape()).samples, "tenure_gateway_requests_total", fraudLabels)).toHaveLength(1);
    await post(`/v1/deployments/${fraud}/retire`, {});
    const { samples } = await scrape();
    const fraudSeries = samples.filter((s: Sample) => s.labels.model === "fraud-gbm");
    expect(fraudSeries).toEqual([]);
    expect(find(samples, "tenure_deployment_age_seconds", recsLabels)).toHaveLength(1);
  });

  it.skipIf(!hasPromtool)("passes promtool's lint of metric names, types and units", async () => {
    await seed();
    const { text } = await scrape();
    const lint = spawnSync(PROMTOOL, ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(`${lint.stdout}${lint.stderr}`).toBe("");
    expect(lint.status).toBe(0);
  });

  it("needs a read token unless reads are public", async () => {
    t = await startTestApp(dialect, { now: T0, metrics: true });
    const anonymous = await t.request({ method: "GET", url: "/metrics", token: null });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.headers["content-type"]).toMatch(/^application\/problem\+json/);
    const bad = await t.request({ method: "GET", url: "/metrics", token: "not-a-token" });
    expect(bad.statusCode).toBe(401);
    const { samples } = await scrape(t.tokens.read);
    expect(sampleValue(samples, "tenure_build_info", { version: "test" })).toBe(1);
    await t.close();

    t = await startTestApp(dialect, { now: T0, metrics: true, publicRead: true });
    const open = await scrape(null);
    expect(find(open.samples, "tenure_deployment_age_seconds")).toEqual([]);
    expect(sampleValue(open.samples, "tenure_sweeps_total", { outcome: "done" })).toBe(0);
  });
});
