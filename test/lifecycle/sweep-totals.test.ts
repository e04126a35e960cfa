import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "../../src/store/database.js";
import { dialects } from "../support/databases.js";
import { slackAndWebhookEach } from "../support/receivers.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const SECRET = "retrain-secret-0123456789";

/**
 * fraud-* rolls back to its golden version when it expires; feed-* hands over to a validated
 * shadow; churn-* rolls back too, its expiry routed to Slack and the retraining webhook; recs-*
 * only alerts. Every kind routes to Slack, the due alert to a webhook too, so a resolution queues
 * a notification per channel.
 */
const POLICIES = `
channels:
  risk-slack: { type: slack, url: "\${SLACK_URL}" }
  retrain: { type: webhook, url: "\${HOOK_URL}", secret: "${SECRET}" }
policies:
  - name: fraud-fast
    match: { model: "fraud-*" }
    max_age: 30d
    expire_action: retire
    notify: { due: [risk-slack, retrain], expired: [risk-slack] }
  - name: feed-rotate
    match: { model: "feed-*" }
    max_age: 10d
    expire_action: retire
    performance: { metric: ctr, target: 0.05, window: 1d, min_samples: 100 }
    notify: { due: [risk-slack], expired: [risk-slack] }
  - name: churn-retire
    match: { model: "churn-*" }
    max_age: 30d
    expire_action: retire
    notify: { expired: [risk-slack, retrain] }
  - name: recs
    match: { model: "recs-*" }
    max_age: 100d
    notify: { due: [risk-slack] }
`;

/** What the database holds of one sweep's work at `at`: alerts it opened and resolved, notifications it queued. */
async function writtenAt(database: Database, at: number, deliveriesBefore: number) {
  const { db } = database;
  const alerts = await db.selectFrom("alerts").select(["opened_at", "resolved_at"]).execute();
  const deliveries = await db.selectFrom("deliveries").select("id").execute();
  return {
    alerts_opened: alerts.filter((a) => Number(a.opened_at) === at).length,
    alerts_resolved: alerts.filter((a) => a.resolved_at !== null && Number(a.resolved_at) === at).length,
    notifications: deliveries.length - deliveriesBefore,
  };
}

const totalsOf = (sweep: Record<string, unknown>) => ({
  alerts_opened: sweep.alerts_opened,
  alerts_resolved: sweep.alerts_resolved,
  notifications: sweep.notifications,
});

describe.each(dialects())("a sweep's totals count what its handovers resolved, on %s", (dialect) => {
  let t: TestApp;
  const receivers = slackAndWebhookEach(SECRET);
  afterEach(async () => {
    await t?.close();
  });

  const start = async () => {
    t = await startTestApp(dialect, {
      now: T0,
      policies: POLICIES,
      env: receivers.env(),
    });
  };
  const deploy = async (body: Record<string, unknown>): Promise<number> => {
    const response = await t.request({ method: "POST", url: "/v1/deployments", body: registration(body) });
    expect(response.statusCode, response.body).toBe(201);
    return (response.json() as { id: number }).id;
  };
  const sweep = async (body: Record<string, unknown> = {}) => {
    const response = await t.request({ method: "POST", url: "/v1/sweeps", body });
    expect(response.statusCode, response.body).toBe(body.dry_run ? 200 : 201);
    return response.json() as Record<string, unknown>;
  };
  const deliveryCount = async () =>
    (await t.context.database.db.selectFrom("deliveries").select("id").execute()).length;
  /** Delivers what is queued and forgets it: what the receivers hear next is the next sweep's. */
  const deliverAll = async () => {
    await t.context.dispatcher.drain(5_000);
    for (const r of [receivers.slack, receivers.hook]) r.received.length = 0;
  };

  it("a sweep that rolls back an expired primary and promotes over a due one counts every alert resolved and notification queued in their transactions", async () => {
    await start();
    // fraud-gbm 1.0 replaced its golden version 0.9 at T0; recs-seasonal 1 has served 60 of its
    // 100 days and recs-seasonal 2 takes over on day 28.
    await deploy({ model_version: "0.9", deployment_date: new Date(T0 - 10 * DAY).toISOString() });
    const fraud = await deploy({ model_version: "1.0", training_data_cutoff: "2026-12-01" });
    const golden = await t.request({
      method: "PUT",
      url: "/v1/models/fraud-gbm/golden",
      body: { environment: "production", model_version: "0.9" },
    });
    expect(golden.statusCode, golden.body).toBe(200);
    const recs = await deploy({
      model: "recs-seasonal",
      model_version: "1",
      owner_team: "growth",
      deployment_date: new Date(T0 - 60 * DAY).toISOString(),
    });
    await deploy({
      model: "recs-seasonal",
      model_version: "2",
      owner_team: "growth",
      training_data_cutoff: "2026-12-15",
      scheduled_at: new Date(T0 + 28 * DAY).toISOString(),
    });
    t.setNow(T0 + 25 * DAY);
    // Day 25: both live primaries are due (fraud 25d of 30, recs 85d of 100): two alerts open.
    expect(totalsOf(await sweep())).toEqual({ alerts_opened: 2, alerts_resolved: 0, notifications: 3 });
    await deliverAll();

    const at = T0 + 31 * DAY;
    t.setNow(at);
    const preview = await sweep({ dry_run: true });
    const before = await deliveryCount();
    const real = await sweep();
    // Fraud's rollback resolves its due alert (Slack and the webhook hear it), opens the expiry's
    // alert and resolves it (Slack twice); the promotion resolves recs 1's due alert (Slack).
    expect(real).toMatchObject({ promotions: 1, retirements: 1 });
    expect(totalsOf(real)).toEqual({ alerts_opened: 1, alerts_resolved: 3, notifications: 5 });
    expect(totalsOf(real)).toEqual(await writtenAt(t.context.database, at, before));
    expect(totalsOf(preview)).toEqual(totalsOf(real));
    const log = await t.request({ method: "GET", url: "/v1/sweeps" });
    expect(totalsOf(log.json().items[0])).toEqual(totalsOf(real));

    const alerts = await t.context.database.db
      .selectFrom("alerts")
      .select(["deployment_id", "kind", "resolution"])
      .where("resolved_at", "=", at)
      .orderBy("id")
      .execute();
    expect(alerts.map((a) => [a.deployment_id, a.kind, a.resolution])).toEqual([
      [fraud, "due", "rolled_back"],
      [recs, "due", "superseded"],
      [fraud, "expired", "rolled_back"],
    ]);
    await t.context.dispatcher.drain(5_000);
    expect(receivers.slack.received.length + receivers.hook.received.length).toBe(real.notifications);
  });

  it("a sweep whose validated shadow takes over from an expired primary counts the primary's alerts it resolved", async () => {
    await start();
    const primary = await deploy({ model: "feed-home", model_version: "1.0" });
    t.setNow(T0 + DAY);
    const shadow = await deploy({ model: "feed-home", model_version: "2.0", role: "shadow" });
    t.setNow(T0 + 6 * DAY);
    const points = [1, 2, 3, 4, 5].map((day) => ({
      name: "ctr",
      value: 0.08,
      timestamp: new Date(T0 + day * DAY + 3_600_000).toISOString(),
      sample_size: 400,
    }));
    const posted = await t.request({
      method: "POST",
      url: `/v1/deployments/${shadow}/metrics`,
      body: { points },
    });
    expect(posted.statusCode, posted.body).toBe(200);
    // Day 8.5: the primary is due (8.5d of 10), the shadow not yet (7.5d): one alert opens.
    t.setNow(T0 + 8.5 * DAY);
    expect(totalsOf(await sweep())).toEqual({ alerts_opened: 1, alerts_resolved: 0, notifications: 1 });
    await deliverAll();

    const at = T0 + 10.5 * DAY; // the primary is past its 10 days; the shadow, at 9.5, due
    t.setNow(at);
    const preview = await sweep({ dry_run: true });
    const before = await deliveryCount();
    const real = await sweep();
    expect(real).toMatchObject({ retirements: 1 });
    // The take-over resolves the due alert, opens the expiry's and resolves it: three notices.
    expect(totalsOf(real)).toEqual({ alerts_opened: 1, alerts_resolved: 2, notifications: 3 });
    expect(totalsOf(real)).toEqual(await writtenAt(t.context.database, at, before));
    expect(totalsOf(preview)).toEqual(totalsOf(real));
    const resolved = await t.context.database.db
      .selectFrom("alerts")
      .select(["deployment_id", "resolution"])
      .where("resolved_at", "=", at)
      .execute();
    expect(resolved.map((a) => [a.deployment_id, a.resolution])).toEqual([
      [primary, "superseded"],
      [primary, "superseded"],
    ]);
    await t.context.dispatcher.drain(5_000);
    expect(receivers.slack.received.length).toBe(real.notifications);
  });

  it("a primary rolled back under its open expiry alert: that alert says what was done and resolves, no second one opens, each channel hears it once", async () => {
    await start();
    const churn = { model: "churn-xgb", owner_team: "growth" };
    await deploy({ ...churn, model_version: "0.9", deployment_date: new Date(T0 - 10 * DAY).toISOString() });
    const current = await deploy({ ...churn, model_version: "1.0", training_data_cutoff: "2026-12-01" });
    // Day 31: expired, with no golden version to roll back to: it stays, and its expiry alert opens
    // (Slack and the retraining webhook hear it).
    t.setNow(T0 + 31 * DAY);
    const blocked = await sweep();
    expect(blocked).toMatchObject({ retirements: 0 });
    expect(totalsOf(blocked)).toEqual({ alerts_opened: 1, alerts_resolved: 0, notifications: 2 });
    await deliverAll();
    const golden = await t.request({
      method: "PUT",
      url: "/v1/models/churn-xgb/golden",
      body: { environment: "production", model_version: "0.9" },
    });
    expect(golden.statusCode, golden.body).toBe(200);

    const at = T0 + 32 * DAY;
    t.setNow(at);
    const preview = await sweep({ dry_run: true });
    const before = await deliveryCount();
    const real = await sweep();
    expect(real).toMatchObject({ retirements: 1 });
    // The open alert resolves, rolled back: one notice each to Slack and the webhook, no trigger.
    expect(totalsOf(real)).toEqual({ alerts_opened: 0, alerts_resolved: 1, notifications: 2 });
    expect(totalsOf(real)).toEqual(await writtenAt(t.context.database, at, before));
    expect(totalsOf(preview)).toEqual(totalsOf(real));

    const alerts = await t.context.database.db
      .selectFrom("alerts")
      .selectAll()
      .where("deployment_id", "=", current)
      .execute();
    expect(alerts.map((a) => [a.kind, a.state, a.resolution, Number(a.opened_at)])).toEqual([
      ["expired", "resolved", "rolled_back", T0 + 31 * DAY],
    ]);
    const [alert] = alerts;
    expect(alert?.summary).toMatch(/; rolled back to the golden version 0\.9$/);
    const detail = JSON.parse(String(alert?.detail));
    expect(detail.expire_action_taken).toBe("rolled back to the golden version 0.9");
    expect(detail.expire_action_blocked).toBeUndefined();

    await t.context.dispatcher.drain(5_000);
    expect(receivers.slack.received).toHaveLength(1);
    expect(JSON.stringify(receivers.slack.received[0]?.body)).toContain(
      "rolled back to the golden version 0.9",
    );
    expect(receivers.hook.received.map((d) => (d.body as { action: string }).action)).toEqual(["resolve"]);
  });
});
