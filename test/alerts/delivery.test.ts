import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { pollUntil } from "../support/process.js";
import { type Receiver, startReceiver } from "../support/receivers.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const ROUTING_KEY = "0123456789abcdef0123456789abcdef";

const POLICIES = `
channels:
  slack: { type: slack, url: "\${SLACK_URL}", timeout: 1s }
  oncall: { type: pagerduty, routing_key: "${ROUTING_KEY}", url: "\${PD_URL}", timeout: 1s }
policies:
  - name: short
    max_age: 10d
    notify: { due: [slack], expired: [oncall, slack] }
`;

describe.each(dialects())("delivery on %s", (dialect) => {
  let t: TestApp;
  let slack: Receiver;
  let pagerduty: Receiver;

  beforeAll(async () => {
    [slack, pagerduty] = await Promise.all([startReceiver("slack"), startReceiver("pagerduty")]);
  });
  afterAll(async () => {
    await Promise.all([slack.close(), pagerduty.close()]);
  });
  afterEach(async () => {
    await t?.close();
    for (const r of [slack, pagerduty]) {
      r.setMode("ok");
      r.received.length = 0;
      r.rejected.length = 0;
    }
  });

  const start = async (retry = { max_attempts: 12, base_delay_ms: 50, max_delay_ms: 300 }) => {
    t = await startTestApp(dialect, {
      now: T0,
      policies: POLICIES,
      env: { SLACK_URL: slack.url, PD_URL: pagerduty.url },
      retry,
    });
    for (let i = 0; i < 5; i++) {
      const res = await t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration({ model: `m-${i}` }),
      });
      expect(res.statusCode).toBe(201);
    }
    t.setNow(T0 + 11 * DAY);
    const sweep = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    expect(sweep.json()).toMatchObject({ alerts_opened: 5, notifications: 10 });
  };
  const deliveries = async (state: string) =>
    (await t.request({ method: "GET", url: `/v1/deliveries?state=${state}&limit=500` })).json().items as {
      id: number;
      attempts: number;
      attempt_log: { status_code: number | null; error: string | null }[];
    }[];

  it("rides out a receiver that answers 503 and then times out: every alert arrives exactly once", async () => {
    slack.setMode("error503");
    pagerduty.setMode("error503");
    await start();
    t.context.dispatcher.start();
    await pollUntil("two failed attempts per delivery", async () =>
      (await deliveries("pending")).every((d) => d.attempts >= 2) ? true : undefined,
    );
    slack.setMode("hang");
    pagerduty.setMode("hang");
    await pollUntil("a timed-out attempt", async () =>
      (await deliveries("pending")).some((d) =>
        d.attempt_log.some((a) => /timed out|timeout/i.test(a.error ?? "")),
      )
        ? true
        : undefined,
    );
    slack.setMode("ok");
    pagerduty.setMode("ok");
    await pollUntil(
      "every delivery to be delivered",
      async () => ((await deliveries("delivered")).length === 10 ? true : undefined),
      30_000,
    );
    expect(slack.received).toHaveLength(5);
    expect(pagerduty.received).toHaveLength(5);
    const keys = pagerduty.received.map((d) => (d.body as { dedup_key: string }).dedup_key);
    expect(new Set(keys).size).toBe(5);
    expect(await deliveries("failed")).toEqual([]);
    const logged = await deliveries("delivered");
    for (const d of logged) {
      expect([200, 202]).toContain(d.attempt_log.at(-1)?.status_code);
      expect(d.attempt_log.slice(0, 2).map((a) => a.status_code)).toEqual([503, 503]);
    }
  });

  it("honours 429 with Retry-After before trying again", async () => {
    pagerduty.setMode("rate-limit");
    await start();
    await t.context.dispatcher.deliverDue();
    const waiting = (await deliveries("pending")).filter((d) => d.attempts === 1);
    expect(waiting).toHaveLength(5);
    const next = await t.request({ method: "GET", url: "/v1/deliveries?state=pending" });
    for (const d of next.json().items as {
      next_attempt_at: string;
      attempt_log: { status_code: number }[];
    }[]) {
      expect(d.attempt_log[0]?.status_code).toBe(429);
      // Retry-After: 1 means not before a second from the attempt, whatever the backoff says.
      expect(Date.parse(d.next_attempt_at)).toBeGreaterThanOrEqual(Date.now() + 500);
    }
  });

  it("dead-letters after the last attempt, lists it as failed, and delivers once when retried", async () => {
    slack.setMode("error503");
    pagerduty.setMode("error503");
    await start({ max_attempts: 2, base_delay_ms: 20, max_delay_ms: 40 });
    expect(await t.context.dispatcher.drain(5_000)).toEqual({ delivered: 0, failed: 10, pending: 0 });
    const failed = await deliveries("failed");
    expect(failed).toHaveLength(10);
    expect(failed[0]?.attempt_log.map((a) => a.status_code)).toEqual([503, 503]);

    slack.setMode("ok");
    pagerduty.setMode("ok");
    const forbidden = await t.request({
      method: "POST",
      url: "/v1/deliveries/retry",
      body: {},
      token: t.tokens.write,
    });
    expect(forbidden.statusCode).toBe(403);
    const retried = await t.request({ method: "POST", url: "/v1/deliveries/retry", body: {} });
    expect(retried.json()).toEqual({ retried: 10 });
    await t.context.dispatcher.drain(5_000);
    expect(slack.received).toHaveLength(5);
    expect(pagerduty.received).toHaveLength(5);
    expect(await deliveries("failed")).toEqual([]);
  });

  it("dead-letters a stored notification that does not fit at once, naming the column, and delivers the rest", async () => {
    await start();
    const [first] = await t.context.database.db.selectFrom("deliveries").select("id").orderBy("id").execute();
    await t.context.database.db
      .updateTable("deliveries")
      .set({ notification: '{"action":"trigger"}' })
      .where("id", "=", first?.id as number)
      .execute();
    expect(await t.context.dispatcher.drain(5_000)).toEqual({ delivered: 9, failed: 1, pending: 0 });
    const failed = await deliveries("failed");
    expect(failed.map((d) => d.id)).toEqual([first?.id]);
    expect(failed[0]?.attempt_log).toEqual([
      expect.objectContaining({
        status_code: null,
        error: expect.stringMatching(/^the stored notification does not hold/),
      }),
    ]);
    expect(slack.received.length + pagerduty.received.length).toBe(9);
  });

  it("never sends a resolve before its trigger: one alert's notices reach a channel in order", async () => {
    pagerduty.setMode("error503");
    await start();
    await t.context.dispatcher.deliverDue();
    // Each deployment is superseded while its trigger still waits to be retried.
    t.setNow(T0 + 12 * DAY);
    for (let i = 0; i < 5; i++) {
      await t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration({ model: `m-${i}`, model_version: "2" }),
      });
    }
    await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    pagerduty.setMode("ok");
    await t.context.dispatcher.drain(10_000);
    const actions = pagerduty.received.map((d) => d.body as { dedup_key: string; event_action: string });
    expect(actions).toHaveLength(10);
    for (const key of new Set(actions.map((a) => a.dedup_key))) {
      expect(actions.filter((a) => a.dedup_key === key).map((a) => a.event_action)).toEqual([
        "trigger",
        "resolve",
      ]);
    }
  });
});
