import { writeFileSync } from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SWEEP_ACTOR } from "../../src/lifecycle/sweep-pass.js";
import { dialects } from "../support/databases.js";
import { type Receiver, startReceiver } from "../support/receivers.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");

const policies = (maxAge = "30d") => `
channels:
  team-slack: { type: slack, url: "\${SLACK_URL}" }
policies:
  - name: fraud
    match: { model: "fraud-*" }
    max_age: ${maxAge}
    review_at: 0.8
    max_data_age: 60d
    notify: { due: [team-slack], expired: [team-slack], data_stale: [team-slack] }
  - name: pinged
    match: { model: "ping-*" }
    silence_after: 2d
    notify: { silent: [team-slack] }
  - name: recs-rotate
    match: { model: "recs-*" }
    max_age: 10d
    expire_action: retire
    notify: { expired: [team-slack] }
  - name: feed-rotate
    match: { model: "feed-*" }
    max_age: 10d
    expire_action: retire
    performance: { metric: ctr, target: 0.05, window: 1d, min_samples: 100 }
    notify: { expired: [team-slack] }
  - name: stable-rules
    match: { owner_team: rules }
    exempt: true
    reason: rules engines do not decay
`;

describe.each(dialects())("lifecycle API on %s", (dialect) => {
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
    slack.setMode("ok");
  });

  const start = async (text = policies()) => {
    t = await startTestApp(dialect, { now: T0, policies: text, env: { SLACK_URL: slack.url } });
  };
  const deploy = async (overrides: Record<string, unknown> = {}) => {
    const res = await t.request({ method: "POST", url: "/v1/deployments", body: registration(overrides) });
    expect(res.statusCode, res.body).toBe(201);
    return res.json() as { id: number; status: string; age: Record<string, unknown> };
  };
  const sweep = async (at: number) => {
    t.setNow(at);
    const res = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    expect(res.statusCode, res.body).toBe(201);
    await t.context.dispatcher.drain(5_000);
    return res.json();
  };
  const deployVersion = (model: string, model_version: string, cutoff: string, role?: "shadow" | "canary") =>
    deploy({ model, model_version, training_data_cutoff: cutoff, ...(role ? { role } : {}) });
  const alerts = async (query = "") =>
    (await t.request({ method: "GET", url: `/v1/alerts${query}` })).json().items;

  it("a review with --extend is an event with who and when, extends the TTL and resolves the alert", async () => {
    await start();
    const { id } = await deploy({ training_data_cutoff: "2026-12-25" });
    await sweep(T0 + 25 * DAY);
    expect(await alerts("?state=open")).toMatchObject([{ kind: "due", deployment_id: id }]);

    t.setNow(T0 + 25 * DAY + 3_600_000);
    const reviewed = await t.request({
      method: "POST",
      url: `/v1/deployments/${id}/review`,
      body: { note: "checked AUC, still 0.94", extend_seconds: 30 * 86_400 },
      token: t.tokens.risk,
    });
    expect(reviewed.statusCode, reviewed.body).toBe(200);
    expect(reviewed.json().age).toMatchObject({ ttl_seconds: 60 * 86_400, stage: "fresh" });
    expect(await alerts("?state=open")).toEqual([]);
    expect(await alerts()).toMatchObject([{ kind: "due", state: "resolved", resolution: "reviewed" }]);
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${id}/events` })).json().items;
    expect(events.at(-1)).toMatchObject({
      type: "reviewed",
      actor: "token:write-risk",
      at: new Date(T0 + 25 * DAY + 3_600_000).toISOString(),
      data: { note: "checked AUC, still 0.94", extend_seconds: 30 * 86_400, ttl_seconds: 60 * 86_400 },
    });
    // Slack heard the trigger and the resolution.
    await t.context.dispatcher.drain(5_000);
    expect(slack.received).toHaveLength(2);
    expect(JSON.stringify(slack.received[1]?.body)).toMatch(/reviewed/);

    // Quiet until the extended review point (day 48), then due again.
    expect(await sweep(T0 + 30 * DAY)).toMatchObject({ alerts_opened: 0, stages: { fresh: 1 } });
    expect(await sweep(T0 + 49 * DAY)).toMatchObject({ alerts_opened: 1, findings: { due: 1 } });
  });

  it("a review without an extension acknowledges: the same finding opens no new alert", async () => {
    await start();
    const { id } = await deploy({ training_data_cutoff: "2026-12-25" });
    await sweep(T0 + 25 * DAY);
    t.setNow(T0 + 25 * DAY + 1000);
    const res = await t.request({
      method: "POST",
      url: `/v1/deployments/${id}/review`,
      body: { note: "fine" },
    });
    expect(res.statusCode).toBe(200);
    expect(await sweep(T0 + 27 * DAY)).toMatchObject({ alerts_opened: 0, findings: { due: 1 } });
    // Expiry is news: it opens its own alert.
    expect(await sweep(T0 + 31 * DAY)).toMatchObject({ alerts_opened: 1, findings: { expired: 1 } });
  });

  it("retiring or rolling back a deployment resolves its open alerts at once, without waiting for a sweep", async () => {
    await start();
    const a = await deploy({ model: "fraud-a", training_data_cutoff: "2026-12-25" });
    const b = await deploy({ model: "fraud-b", training_data_cutoff: "2026-12-25" });
    await t.request({ method: "PUT", url: "/v1/models/fraud-b/golden", body: { model_version: "3.2.0" } });
    t.setNow(T0 + 2 * DAY);
    await deploy({ model: "fraud-b", model_version: "3.3.0", training_data_cutoff: "2026-12-25" });
    await sweep(T0 + 26 * DAY);
    expect(await alerts("?state=open")).toHaveLength(2);
    slack.received.length = 0;
    expect(
      (await t.request({ method: "POST", url: `/v1/deployments/${a.id}/retire`, body: {} })).statusCode,
    ).toBe(200);
    expect(
      (await t.request({ method: "POST", url: "/v1/models/fraud-b/rollback", body: {} })).statusCode,
    ).toBe(200);
    expect(await alerts("?state=open")).toEqual([]);
    expect((await alerts()).map((x: { resolution: string }) => x.resolution).sort()).toEqual([
      "retired",
      "rolled_back",
    ]);
    await t.context.dispatcher.drain(5_000);
    expect(slack.received).toHaveLength(2);
    expect(b.id).toBeGreaterThan(0);
  });

  it("wakes the dispatcher once a retirement's resolutions are committed, without waiting for its poll", async () => {
    await start();
    const a = await deploy({ model: "fraud-a", training_data_cutoff: "2026-12-25" });
    await sweep(T0 + 26 * DAY);
    expect(await alerts("?state=open")).toHaveLength(1);
    // What the dispatcher would find at the moment it is woken: the resolution's delivery is due.
    const found: Promise<number | undefined>[] = [];
    const wake = vi
      .spyOn(t.context.dispatcher, "wake")
      .mockImplementation(() => found.push(t.context.stores.outbox.nextDeliveryAt()));
    const retired = await t.request({ method: "POST", url: `/v1/deployments/${a.id}/retire`, body: {} });
    expect(retired.statusCode).toBe(200);
    await new Promise((done) => setImmediate(done));
    expect(wake).toHaveBeenCalledTimes(1);
    expect(await found[0]).toBeTypeOf("number");
    wake.mockRestore();
  });

  it("refuses bad reviews with a problem naming the field, and changes nothing", async () => {
    await start();
    const { id } = await deploy();
    for (const body of [
      {},
      { note: "" },
      { note: "x", extend_seconds: -1 },
      { note: "x", extend_seconds: 1.5 },
      { note: "x", extra: 1 },
    ]) {
      const res = await t.request({ method: "POST", url: `/v1/deployments/${id}/review`, body });
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.headers["content-type"]).toMatch(/^application\/problem\+json/);
    }
    expect(
      (await t.request({ method: "POST", url: "/v1/deployments/999/review", body: { note: "x" } }))
        .statusCode,
    ).toBe(404);
    const other = await t.request({
      method: "POST",
      url: `/v1/deployments/${id}/review`,
      body: { note: "x" },
      token: t.tokens.read,
    });
    expect(other.statusCode).toBe(403);
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${id}/events` })).json().items;
    expect(events.map((e: { type: string }) => e.type)).toEqual(["deployed"]);
  });

  it("a deployment without a liveness heartbeat within silence_after is silent; a heartbeat clears it", async () => {
    await start();
    const { id } = await deploy({ model: "ping-svc", training_data_cutoff: "2026-12-25" });
    expect(await sweep(T0 + 3 * DAY)).toMatchObject({ findings: { silent: 1 } });
    t.setNow(T0 + 3 * DAY + 1000);
    const beat = await t.request({ method: "POST", url: `/v1/deployments/${id}/heartbeat`, body: {} });
    expect(beat.statusCode, beat.body).toBe(200);
    expect(beat.json()).toEqual({
      deployment_id: id,
      last_heartbeat_at: new Date(T0 + 3 * DAY + 1000).toISOString(),
      version_mismatch: false,
    });
    expect(await sweep(T0 + 4 * DAY)).toMatchObject({ findings: {}, alerts_resolved: 1 });
    expect(await alerts()).toMatchObject([{ kind: "silent", resolution: "cleared" }]);
  });

  it("a heartbeat's served_version that differs from the registry's is a version mismatch until the registered one is served", async () => {
    await start();
    const { id } = await deploy({
      model: "ping-svc",
      model_version: "3.2.0",
      training_data_cutoff: "2026-12-25",
    });
    const beat = (served: string) =>
      t.request({ method: "POST", url: `/v1/deployments/${id}/heartbeat`, body: { served_version: served } });
    t.setNow(T0 + 1000);
    expect((await beat("3.1.9")).json()).toMatchObject({ version_mismatch: true });
    const shown = (await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
    expect(shown).toMatchObject({ reported_version: "3.1.9" });
    t.setNow(T0 + 2000);
    expect((await beat("3.2.0")).json()).toMatchObject({ version_mismatch: false });
    const cleared = (await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json();
    expect(cleared).toMatchObject({ reported_version: null });
    const bad = await beat("not a version!");
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe("served_version");
  });

  it("data older than max_data_age is data_stale; an exempt policy raises no age findings but says so", async () => {
    await start();
    await deploy({ training_data_cutoff: "2026-10-01" });
    const rules = await deploy({
      model: "rules-engine",
      owner_team: "rules",
      training_data_cutoff: "2025-01-01",
    });
    expect(rules.age).toMatchObject({ policy: "stable-rules", exempt: true });
    const result = await sweep(T0 + DAY);
    expect(result.findings).toEqual({ data_stale: 1 });
    expect(result.deployments).toBe(2);
  });

  it("carries out a scheduled promotion when its time comes, superseding the live primary", async () => {
    await start();
    const live = await deploy({
      model: "recs-seasonal",
      model_version: "2026.winter",
      training_data_cutoff: "2026-12-01",
    });
    const scheduled = await deploy({
      model: "recs-seasonal",
      model_version: "2027.spring",
      training_data_cutoff: "2026-12-15",
      scheduled_at: "2027-03-20T00:00:00Z",
    });
    expect(scheduled.status).toBe("scheduled");
    expect(await sweep(T0 + 5 * DAY)).toMatchObject({ promotions: 0 });
    const at = Date.parse("2027-03-20T00:00:00Z");
    expect(await sweep(at)).toMatchObject({ promotions: 1 });
    const after = (await t.request({ method: "GET", url: `/v1/deployments/${scheduled.id}` })).json();
    expect(after).toMatchObject({ status: "active", deployment_date: new Date(at).toISOString() });
    const before = (await t.request({ method: "GET", url: `/v1/deployments/${live.id}` })).json();
    expect(before).toMatchObject({ status: "superseded", ended_at: new Date(at).toISOString() });
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${scheduled.id}/events` })).json()
      .items;
    expect(events.map((e: { type: string; actor: string }) => [e.type, e.actor])).toEqual([
      ["scheduled", "token:admin"],
      ["deployed", "tenure:sweep"],
    ]);
  });

  it("promotes a scheduled deployment once when two promotions race, and leaves it the live primary", async () => {
    await start();
    const live = await deploy({ model: "recs-seasonal", model_version: "2026.winter" });
    const scheduled = await deploy({
      model: "recs-seasonal",
      model_version: "2027.spring",
      scheduled_at: "2027-03-20T00:00:00Z",
    });
    const at = Date.parse("2027-03-20T00:00:00Z");
    t.setNow(at);
    // On PostgreSQL both read the row as scheduled before either holds the model's lock; the
    // one that waited must not supersede the deployment the other just promoted.
    const results = await Promise.all([
      t.context.registry.promote(scheduled.id, at, SWEEP_ACTOR),
      t.context.registry.promote(scheduled.id, at, SWEEP_ACTOR),
    ]);
    expect(results.filter((r) => r !== undefined)).toHaveLength(1);
    const promoted = (await t.request({ method: "GET", url: `/v1/deployments/${scheduled.id}` })).json();
    expect(promoted).toMatchObject({ status: "active", role: "primary" });
    const before = (await t.request({ method: "GET", url: `/v1/deployments/${live.id}` })).json();
    expect(before).toMatchObject({ status: "superseded" });
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${scheduled.id}/events` })).json()
      .items;
    expect(events.map((e: { type: string }) => e.type)).toEqual(["scheduled", "deployed"]);
  });

  it("refuses a promotion scheduled in the past, or with a deployment_date", async () => {
    await start();
    for (const body of [
      registration({ scheduled_at: "2026-12-01T00:00:00Z" }),
      registration({ scheduled_at: "2027-06-01T00:00:00Z", deployment_date: "2027-01-01T00:00:00Z" }),
    ]) {
      const res = await t.request({ method: "POST", url: "/v1/deployments", body });
      expect(res.statusCode).toBe(400);
    }
  });

  it("expire_action retire hands over to the golden version, and falls back to review without one", async () => {
    await start();
    const old = await deployVersion("recs-home", "1.0", "2026-12-01");
    t.setNow(T0 + DAY);
    const current = await deployVersion("recs-home", "2.0", "2026-12-20");
    const lonely = await deployVersion("recs-email", "1.0", "2026-12-20");
    const golden = await t.request({
      method: "PUT",
      url: "/v1/models/recs-home/golden",
      body: { model_version: "1.0", environment: "production" },
    });
    expect(golden.statusCode).toBe(200);
    await sweep(T0 + 12 * DAY);
    const replaced = (await t.request({ method: "GET", url: `/v1/deployments/${current.id}` })).json();
    expect(replaced.status).toBe("rolled_back");
    const live = (
      await t.request({ method: "GET", url: "/v1/deployments?model=recs-home&status=active" })
    ).json();
    expect(live.items).toMatchObject([{ model_version: "1.0", status: "active" }]);
    expect(old.id).not.toBe(live.items[0].id);
    const open = await alerts("?state=open");
    expect(open).toMatchObject([{ deployment_id: lonely.id, kind: "expired" }]);
    expect(open[0].detail.expire_action_blocked).toMatch(/no golden version of recs-email/);
  });

  it("expire_action retire hands over to a newer canary that held its target, not to one without evidence", async () => {
    await start();
    const primary = await deployVersion("feed-home", "1.0", "2026-12-01");
    const other = await deployVersion("feed-mail", "1.0", "2026-12-01");
    t.setNow(T0 + DAY);
    const canary = await deployVersion("feed-home", "2.0", "2026-12-20", "canary");
    // A canary of the other model, with no metrics: nothing shows it works.
    await deployVersion("feed-mail", "2.0", "2026-12-20", "canary");
    const points = [1, 2, 3, 4, 5].map((day) => ({
      name: "ctr",
      value: 0.08,
      timestamp: new Date(T0 + day * DAY + 3_600_000).toISOString(),
      sample_size: 400,
    }));
    t.setNow(T0 + 6 * DAY);
    const posted = await t.request({
      method: "POST",
      url: `/v1/deployments/${canary.id}/metrics`,
      body: { points },
    });
    expect(posted.statusCode, posted.body).toBe(200);
    await sweep(T0 + 7 * DAY); // judges the canary: on target
    await sweep(T0 + 12 * DAY); // the primaries expire

    const took = (await t.request({ method: "GET", url: `/v1/deployments/${canary.id}` })).json();
    expect(took).toMatchObject({ role: "primary", status: "active" });
    const ended = (await t.request({ method: "GET", url: `/v1/deployments/${primary.id}` })).json();
    expect(ended.status).toBe("superseded");
    const events = (await t.request({ method: "GET", url: `/v1/deployments/${canary.id}/events` })).json();
    expect(events.items ?? events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: "promoted",
          actor: "tenure:sweep",
          data: expect.objectContaining({ from_role: "canary", supersedes: primary.id }),
        }),
      ]),
    );
    const expiredNotices = slack.received.filter((r) => JSON.stringify(r.body).includes("feed-home"));
    expect(JSON.stringify(expiredNotices)).toMatch(/replaced by the validated canary 2\.0/);

    const stillOther = (await t.request({ method: "GET", url: `/v1/deployments/${other.id}` })).json();
    expect(stillOther).toMatchObject({ role: "primary", status: "active" });
    const open = await alerts("?state=open");
    const blocked = open.find((a: { deployment_id: number }) => a.deployment_id === other.id);
    expect(blocked.detail.expire_action_blocked).toMatch(
      /no newer shadow or canary of feed-mail in production has held its performance target/,
    );
  });

  it("reloads the policy file on request, and keeps the old policies when the new file is invalid", async () => {
    await start();
    const { id } = await deploy();
    expect((await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json().age.ttl_seconds).toBe(
      30 * 86_400,
    );

    writeFileSync(t.policiesPath as string, policies("45d"));
    const ok = await t.request({ method: "POST", url: "/v1/policies/reload", body: {} });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ ok: true, policies: 5, channels: 1 });
    expect((await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json().age.ttl_seconds).toBe(
      45 * 86_400,
    );

    writeFileSync(t.policiesPath as string, "policies:\n  - name: Bad Name\n    max_age: 3 days\n");
    const bad = await t.request({ method: "POST", url: "/v1/policies/reload", body: {} });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().errors.length).toBeGreaterThanOrEqual(2);
    expect(bad.json().errors[0].field).toMatch(/^line 2, column \d+$/);
    expect((await t.request({ method: "GET", url: `/v1/deployments/${id}` })).json().age.ttl_seconds).toBe(
      45 * 86_400,
    );

    const forbidden = await t.request({
      method: "POST",
      url: "/v1/policies/reload",
      body: {},
      token: t.tokens.write,
    });
    expect(forbidden.statusCode).toBe(403);
  });

  it("explains which policy matched, why, and when the deployment becomes due and expires", async () => {
    await start();
    const { id } = await deploy();
    const res = await t.request({ method: "GET", url: `/v1/deployments/${id}/policy` });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      policy: "fraud",
      reason: expect.stringMatching(/most specific match/),
      due_at: new Date(T0 + 24 * DAY).toISOString(),
      expires_at: new Date(T0 + 30 * DAY).toISOString(),
      candidates: [
        { name: "fraud", matched: true, score: 1 },
        { name: "pinged", matched: false },
        { name: "recs-rotate", matched: false },
        { name: "feed-rotate", matched: false },
        { name: "stable-rules", matched: false },
      ],
    });
  });

  it("the check gate lists live deployments at or past the stage; exempt ones never fail it", async () => {
    await start();
    const young = await deploy({ model: "fraud-new", training_data_cutoff: "2026-12-25" });
    t.setNow(T0 - 28 * DAY);
    const old = await deploy({ model: "fraud-old", training_data_cutoff: "2026-11-01" });
    t.setNow(T0 - 400 * DAY);
    await deploy({ model: "rules-engine", owner_team: "rules", training_data_cutoff: "2025-01-01" });
    t.setNow(T0);
    const expired = (await t.request({ method: "GET", url: "/v1/check?fail_on=expired" })).json();
    expect(expired).toMatchObject({ ok: true, checked: 3, offenders: [] });
    const due = (await t.request({ method: "GET", url: "/v1/check?fail_on=due" })).json();
    expect(due).toMatchObject({ ok: false, offenders: [{ id: old.id, reasons: ["due"] }] });
    const fleet = (await t.request({ method: "GET", url: "/v1/fleet" })).json();
    expect(fleet).toEqual({
      live: 3,
      exempt: 1,
      stages: { fresh: 1, due: 1, expired: 1 },
      teams: { risk: { fresh: 1, due: 1, expired: 0 }, rules: { fresh: 0, due: 0, expired: 1 } },
      environments: { production: { fresh: 1, due: 1, expired: 1 } },
      open_alerts: {},
    });
    const team = (await t.request({ method: "GET", url: "/v1/check?fail_on=due&owner_team=nobody" })).json();
    expect(team).toMatchObject({ ok: true, checked: 0 });
    expect(young.id).toBeGreaterThan(0);
  });

  it("serves the lifecycle as JSON and as an iCalendar feed a calendar app can subscribe to with ?token=", async () => {
    await start();
    const { id } = await deploy();
    const json = (await t.request({ method: "GET", url: "/v1/lifecycle?owner_team=risk" })).json();
    expect(json.items).toEqual([
      expect.objectContaining({
        deployment_id: id,
        policy: "fraud",
        due_at: new Date(T0 + 24 * DAY).toISOString(),
        expires_at: new Date(T0 + 30 * DAY).toISOString(),
      }),
    ]);
    const ics = await t.request({
      method: "GET",
      url: `/v1/calendar.ics?token=${t.tokens.read}`,
      token: null,
    });
    expect(ics.statusCode).toBe(200);
    expect(ics.headers["content-type"]).toMatch(/^text\/calendar/);
    expect(ics.body).toMatch(/^BEGIN:VCALENDAR\r\n/);
    expect(ics.body).toContain(`UID:deployment-${id}-expiry@`);
    expect(ics.body).toContain("DTSTART;VALUE=DATE:20270131");
    expect((await t.request({ method: "GET", url: "/v1/calendar.ics", token: null })).statusCode).toBe(401);
    expect(
      (await t.request({ method: "GET", url: "/v1/calendar.ics?token=nope", token: null })).statusCode,
    ).toBe(401);
    // Only the calendar takes a query token.
    expect(
      (await t.request({ method: "GET", url: `/v1/lifecycle?token=${t.tokens.read}`, token: null }))
        .statusCode,
    ).toBe(401);
  });

  it("a second sweep while one runs is refused with 409, and a team token cannot sweep", async () => {
    await start();
    await deploy();
    const [a, b] = await Promise.all([
      t.request({ method: "POST", url: "/v1/sweeps", body: {} }),
      t.request({ method: "POST", url: "/v1/sweeps", body: {} }),
    ]);
    expect([a.statusCode, b.statusCode].sort()).toContain(201);
    for (const res of [a, b]) if (res.statusCode !== 201) expect(res.statusCode).toBe(409);
    const team = await t.request({ method: "POST", url: "/v1/sweeps", body: {}, token: t.tokens.risk });
    expect(team.statusCode).toBe(403);
    const bad = await t.request({ method: "POST", url: "/v1/sweeps", body: { at: "yesterday" } });
    expect(bad.statusCode).toBe(400);
  });
});
