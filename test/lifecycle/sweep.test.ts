import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { verifySignature } from "../../src/alerts/channels/webhook.js";
import { Sweeper } from "../../src/lifecycle/sweeper.js";
import { dialects } from "../support/databases.js";
import { type Receiver, startReceiver } from "../support/receivers.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const SECRET = "retrain-secret-0123456789";
const ROUTING_KEY = "0123456789abcdef0123456789abcdef";

const POLICIES = `
channels:
  risk-slack: { type: slack, url: "\${SLACK_URL}" }
  risk-oncall: { type: pagerduty, routing_key: "${ROUTING_KEY}", url: "\${PD_URL}" }
  retrain-fraud: { type: webhook, url: "\${HOOK_URL}", secret: "${SECRET}" }
defaults:
  max_age: 90d
  review_at: 0.8
policies:
  - name: fraud-fast
    match: { model: "fraud-*", environment: production }
    max_age: 30d
    review_at: 0.83
    max_data_age: 60d
    notify:
      due: [risk-slack, retrain-fraud]
      expired: [risk-oncall, risk-slack]
      data_stale: [risk-slack]
  - name: stable-rules
    match: { model: rules-engine }
    exempt: true
    reason: a rules engine does not decay
`;

describe.each(dialects())("the fraud model's lifecycle on %s", (dialect) => {
  let t: TestApp;
  let slack: Receiver;
  let pagerduty: Receiver;
  let hook: Receiver;

  beforeAll(async () => {
    [slack, pagerduty, hook] = await Promise.all([
      startReceiver("slack"),
      startReceiver("pagerduty"),
      startReceiver("webhook", { secret: SECRET }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([slack.close(), pagerduty.close(), hook.close()]);
  });
  afterEach(async () => {
    await t?.close();
    for (const r of [slack, pagerduty, hook]) {
      r.received.length = 0;
      r.rejected.length = 0;
      r.setMode("ok");
    }
  });

  const start = async () => {
    t = await startTestApp(dialect, {
      now: T0,
      policies: POLICIES,
      env: { SLACK_URL: slack.url, PD_URL: pagerduty.url, HOOK_URL: hook.url },
    });
    return t;
  };

  const sweep = async (at: number) => {
    t.setNow(at);
    const response = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    expect(response.statusCode).toBe(201);
    await t.context.dispatcher.drain(5_000);
    return response.json();
  };

  it("is due on day 25, paged on day 31, and resolved when a new version replaces it", async () => {
    await start();
    const deployed = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ training_data_cutoff: "2026-12-20" }),
    });
    expect(deployed.json().age).toMatchObject({
      policy: "fraud-fast",
      ttl_seconds: 30 * 86_400,
      exempt: false,
    });
    const id = deployed.json().id as number;

    const day25 = await sweep(T0 + 25 * DAY);
    expect(day25).toMatchObject({
      state: "done",
      deployments: 1,
      stages: { fresh: 0, due: 1, expired: 0 },
      findings: { due: 1 },
      alerts_opened: 1,
      notifications: 2,
    });
    expect(slack.received).toHaveLength(1);
    expect(hook.received).toHaveLength(1);
    expect(pagerduty.received).toHaveLength(0);
    const retrain = hook.received[0];
    expect(
      verifySignature(
        SECRET,
        String(retrain?.headers["tenure-signature"]),
        retrain?.raw ?? "",
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(true);
    expect(retrain?.body).toMatchObject({
      action: "trigger",
      alert: { kind: "due", state: "open" },
      deployment: { id, model: "fraud-gbm", model_version: "3.2.0", policy: "fraud-fast" },
    });

    // A second sweep the same day notifies nobody.
    const again = await sweep(T0 + 25 * DAY + 3 * 3_600_000);
    expect(again).toMatchObject({ alerts_opened: 0, notifications: 0, findings: { due: 1 } });
    expect(slack.received).toHaveLength(1);

    const day31 = await sweep(T0 + 31 * DAY);
    expect(day31).toMatchObject({ stages: { expired: 1 }, alerts_opened: 1, alerts_resolved: 1 });
    expect(pagerduty.received).toHaveLength(1);
    const page = pagerduty.received[0]?.body as Record<string, unknown>;
    expect(page).toMatchObject({ event_action: "trigger", payload: { severity: "error" } });
    expect(slack.received).toHaveLength(2);
    // The retraining webhook is started once, not again at expiry.
    expect(hook.received).toHaveLength(1);

    t.setNow(T0 + 32 * DAY);
    const next = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({ model_version: "3.3.0", training_data_cutoff: "2027-01-25" }),
    });
    expect(next.statusCode).toBe(201);
    // The supersession resolves the alert in its own transaction: the on-call hears it at once.
    await t.context.dispatcher.drain(5_000);
    expect(pagerduty.received).toHaveLength(2);
    expect(pagerduty.received[1]?.body).toEqual({
      routing_key: ROUTING_KEY,
      event_action: "resolve",
      dedup_key: page.dedup_key,
    });
    expect(slack.received).toHaveLength(3);
    expect(JSON.stringify(slack.received[2]?.body)).toMatch(/resolved/i);
    const day32 = await sweep(T0 + 32 * DAY);
    expect(day32).toMatchObject({ alerts_opened: 0, alerts_resolved: 0, findings: {}, notifications: 0 });

    const alerts = await t.request({ method: "GET", url: `/v1/alerts?deployment_id=${id}` });
    expect(alerts.json().items).toMatchObject([
      { kind: "expired", state: "resolved", resolution: "superseded" },
      { kind: "due", state: "resolved", resolution: "escalated" },
    ]);
    const log = await t.request({ method: "GET", url: "/v1/sweeps" });
    expect(log.json().items).toHaveLength(4);
    expect(log.json().items.map((s: { trigger: string }) => s.trigger)).toEqual([
      "manual",
      "manual",
      "manual",
      "manual",
    ]);
    expect(pagerduty.rejected).toEqual([]);
    expect(slack.rejected).toEqual([]);
    expect(hook.rejected).toEqual([]);
  });
  it("judges every live deployment once and opens each alert once, however pages split into batches", async () => {
    await start();
    for (let n = 0; n < 7; n++) {
      const response = await t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration({ environment: `production-${n}`, training_data_cutoff: "2026-12-20" }),
      });
      expect(response.statusCode).toBe(201);
    }
    const { stores, registry, incidents } = t.context;
    // Pages of 3 in batches of 2: batches that end a page, and a page cut short.
    // The clock past both sweeps: a sweep dated after it would only be a preview.
    const clock = () => T0 + 101 * DAY;
    const sweeper = new Sweeper({ stores, registry, incidents, clock, pageSize: 3, batchSize: 2 });
    // Past the defaults' 90 days (the environments match no policy): each one is expired.
    const first = await sweeper.run({ at: T0 + 100 * DAY, trigger: "manual", actor: "test" });
    expect(first).toMatchObject({ deployments: 7, alerts_opened: 7 });
    expect(JSON.parse(first.stages)).toMatchObject({ expired: 7 });
    const again = await sweeper.run({ at: T0 + 100 * DAY + 3_600_000, trigger: "manual", actor: "test" });
    expect(again).toMatchObject({ deployments: 7, alerts_opened: 0, alerts_resolved: 0 });
  });
});
