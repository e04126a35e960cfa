import { afterEach, describe, expect, it } from "vitest";
import type { Schema } from "../../src/store/schema.js";
import { dialects } from "../support/databases.js";
import { slackAndWebhookEach } from "../support/receivers.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");
const SECRET = "retrain-secret-0123456789";

const POLICIES = `
channels:
  risk-slack: { type: slack, url: "\${SLACK_URL}" }
  retrain-fraud: { type: webhook, url: "\${HOOK_URL}", secret: "${SECRET}" }
policies:
  - name: fraud-fast
    match: { model: "fraud-*" }
    max_age: 30d
    review_at: 0.8
    expire_action: retire
    notify:
      due: [risk-slack, retrain-fraud]
      expired: [risk-slack]
  - name: recs
    match: { model: "recs-*" }
    max_age: 100d
    notify:
      due: [risk-slack]
`;

/** Every table a sweep could write, whole and in a stable order: what "nothing changed" compares. */
const TABLES: (keyof Schema)[] = [
  "sweeps",
  "alerts",
  "deliveries",
  "delivery_attempts",
  "deployments",
  "deployment_events",
  "golden_versions",
  "model_versions",
  "metric_baselines",
  "drift_references",
];

async function snapshot(t: TestApp): Promise<Record<string, string[]>> {
  const tables: Record<string, string[]> = {};
  for (const table of TABLES) {
    const rows = await t.context.database.db.selectFrom(table).selectAll().execute();
    tables[table] = rows.map((row) => JSON.stringify(row)).sort();
  }
  return tables;
}

/** What a sweep reports having done, without what only a logged sweep has. */
const counts = (sweep: Record<string, unknown>) => ({
  deployments: sweep.deployments,
  stages: sweep.stages,
  findings: sweep.findings,
  promotions: sweep.promotions,
  retirements: sweep.retirements,
  alerts_opened: sweep.alerts_opened,
  alerts_resolved: sweep.alerts_resolved,
  notifications: sweep.notifications,
});

describe.each(dialects())("a sweep preview on %s", (dialect) => {
  let t: TestApp;
  const receivers = slackAndWebhookEach(SECRET);
  afterEach(async () => {
    await t?.close();
  });

  /**
   * At T0: fraud-gbm 1.0 replaced 0.9 (its golden version) and expires on day 30 under
   * `expire_action: retire`; recs-seasonal 1 has served 60 days of 100; recs-seasonal 2 is
   * scheduled to take over on day 28.
   */
  const fleet = async () => {
    t = await startTestApp(dialect, {
      now: T0,
      policies: POLICIES,
      env: receivers.env(),
    });
    const register = async (body: Record<string, unknown>) => {
      const response = await t.request({ method: "POST", url: "/v1/deployments", body: registration(body) });
      expect(response.statusCode, response.body).toBe(201);
    };
    await register({ model_version: "0.9", deployment_date: new Date(T0 - 10 * DAY).toISOString() });
    await register({ model_version: "1.0", training_data_cutoff: "2026-12-01" });
    const golden = await t.request({
      method: "PUT",
      url: "/v1/models/fraud-gbm/golden",
      body: { environment: "production", model_version: "0.9" },
    });
    expect(golden.statusCode, golden.body).toBe(200);
    await register({
      model: "recs-seasonal",
      model_version: "1",
      owner_team: "growth",
      deployment_date: new Date(T0 - 60 * DAY).toISOString(),
    });
    await register({
      model: "recs-seasonal",
      model_version: "2",
      owner_team: "growth",
      training_data_cutoff: "2026-12-15",
      scheduled_at: new Date(T0 + 28 * DAY).toISOString(),
    });
  };

  const sweep = (body: Record<string, unknown>) => t.request({ method: "POST", url: "/v1/sweeps", body });

  it("a sweep dated after the clock, or asked as dry_run, writes nothing, sends nothing, and counts exactly what the sweep then does", async () => {
    await fleet();
    t.setNow(T0 + 25 * DAY);
    const day25 = await sweep({});
    expect(day25.statusCode, day25.body).toBe(201);
    await t.context.dispatcher.drain(5_000);
    expect(receivers.slack.received.length).toBeGreaterThan(0);
    receivers.slack.received.length = 0;
    receivers.hook.received.length = 0;

    const before = await snapshot(t);
    const future = await sweep({ at: new Date(T0 + 31 * DAY).toISOString() });
    expect(future.statusCode, future.body).toBe(200);
    expect(future.json()).toMatchObject({
      id: null,
      dry_run: true,
      evaluated_at: "2027-02-01T00:00:00.000Z",
      promotions: 1,
      retirements: 1,
    });
    t.setNow(T0 + 31 * DAY);
    const asked = await sweep({ dry_run: true });
    expect(asked.statusCode, asked.body).toBe(200);
    expect(asked.json()).toMatchObject({ id: null, dry_run: true, evaluated_at: "2027-02-01T00:00:00.000Z" });
    // Whatever was queued would go now: nothing was.
    await t.context.dispatcher.drain(5_000);
    expect(await snapshot(t)).toEqual(before);
    expect([...receivers.slack.received, ...receivers.hook.received]).toEqual([]);
    const log = await t.request({ method: "GET", url: "/v1/sweeps" });
    expect(log.json().items.map((s: { id: number }) => s.id)).toEqual([day25.json().id]);

    const real = await sweep({});
    expect(real.statusCode, real.body).toBe(201);
    expect(real.json()).toMatchObject({ dry_run: false, id: expect.any(Number) });
    expect(counts(future.json())).toEqual(counts(real.json()));
    expect(counts(asked.json())).toEqual(counts(real.json()));
    expect(real.json().notifications).toBeGreaterThan(0);
    await t.context.dispatcher.drain(5_000);
    // The sweep's own notices and those of the alerts its promotion and rollback ended, all counted.
    expect(receivers.slack.received.length + receivers.hook.received.length).toBe(real.json().notifications);
  });

  it("no event is ever dated after the moment it is written: a sweep ahead of the clock promotes, rolls back and supersedes nothing", async () => {
    await fleet();
    const latestEvent = async () =>
      Math.max(
        ...(await t.context.database.db.selectFrom("deployment_events").select("at").execute()).map((e) =>
          Number(e.at),
        ),
      );
    const ahead = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration({
        model: "ranker",
        model_version: "7",
        owner_team: "growth",
        deployment_date: new Date(T0 + 4 * 60_000).toISOString(),
      }),
    });
    expect(ahead.statusCode, ahead.body).toBe(201);
    expect(await latestEvent()).toBeLessThanOrEqual(T0);

    for (const day of [20, 31, 400]) {
      const preview = await sweep({ at: new Date(T0 + day * DAY).toISOString() });
      expect(preview.statusCode, preview.body).toBe(200);
      expect(await latestEvent()).toBeLessThanOrEqual(T0);
    }
    t.setNow(T0 + 31 * DAY);
    const real = await sweep({});
    expect(real.json()).toMatchObject({ promotions: 1, retirements: 1 });
    expect(await latestEvent()).toBe(T0 + 31 * DAY);
    const review = await t.request({
      method: "POST",
      url: `/v1/deployments/${ahead.json().id}/review`,
      body: { note: "checked" },
    });
    expect(review.statusCode, review.body).toBe(200);
    expect(await latestEvent()).toBe(T0 + 31 * DAY);
  });

  it("refuses an at that is not a date, or a date that does not exist, with problem+json naming at", async () => {
    await fleet();
    const before = await snapshot(t);
    for (const at of ["yesterday", "2026-02-30", "99999-01-01", 20270101]) {
      const response = await sweep({ at });
      expect(response.statusCode, String(at)).toBe(400);
      expect(response.headers["content-type"]).toMatch(/^application\/problem\+json/);
      expect(response.json().errors).toEqual([expect.objectContaining({ field: "at" })]);
    }
    expect((await sweep({ dry_run: "yes" })).statusCode).toBe(400);
    expect(await snapshot(t)).toEqual(before);
  });
});
