import { afterEach, describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { runTenure, tempDir } from "../support/process.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;

/** fraud-* rolls back to its golden version when it expires; recs-* only alerts. */
const POLICIES = `
channels:
  risk-slack: { type: slack, url: "\${SLACK_URL}" }
  retrain: { type: webhook, url: "\${HOOK_URL}", secret: "retrain-secret-0123456789" }
policies:
  - name: fraud-fast
    match: { model: "fraud-*" }
    max_age: 30d
    expire_action: retire
    notify: { due: [risk-slack, retrain], expired: [risk-slack] }
  - name: recs
    match: { model: "recs-*" }
    max_age: 100d
    notify: { due: [risk-slack] }
`;

/** Nothing listens there: the CLI queues its notifications (--no-deliver) and sends none. */
const ENV = { SLACK_URL: "http://127.0.0.1:9/slack", HOOK_URL: "http://127.0.0.1:9/hook" };

describe.each(dialects())("tenure sweep as a process on %s", { timeout: 90_000 }, (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  it("says as many alerts resolved and notifications queued as its rollback and promotion wrote", async ({
    onTestFinished,
  }) => {
    // The fleet was set up 31 days (and an hour) ago, so the process sweeps it now, for real:
    // fraud-gbm 1.0 has expired and rolls back to its golden 0.9; recs-seasonal 2 was due to
    // take over from recs-seasonal 1 three days ago. A sweep on day 25 opened both primaries' due alerts.
    const setUp = Date.now() - 31 * DAY - 3_600_000;
    t = await startTestApp(dialect, { now: setUp, policies: POLICIES, env: ENV });
    const cutoff = new Date(setUp - 100 * DAY).toISOString();
    const deploy = async (body: Record<string, unknown>) => {
      const response = await t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration({ training_data_cutoff: cutoff, ...body }),
      });
      expect(response.statusCode, response.body).toBe(201);
    };
    await deploy({ model_version: "0.9", deployment_date: new Date(setUp - 10 * DAY).toISOString() });
    await deploy({ model_version: "1.0", training_data_cutoff: new Date(setUp - 5 * DAY).toISOString() });
    const golden = await t.request({
      method: "PUT",
      url: "/v1/models/fraud-gbm/golden",
      body: { environment: "production", model_version: "0.9" },
    });
    expect(golden.statusCode, golden.body).toBe(200);
    await deploy({
      model: "recs-seasonal",
      model_version: "1",
      owner_team: "growth",
      deployment_date: new Date(setUp - 60 * DAY).toISOString(),
    });
    await deploy({
      model: "recs-seasonal",
      model_version: "2",
      owner_team: "growth",
      scheduled_at: new Date(setUp + 28 * DAY).toISOString(),
    });
    t.setNow(setUp + 25 * DAY);
    const day25 = await t.request({ method: "POST", url: "/v1/sweeps", body: {} });
    expect(day25.json()).toMatchObject({ alerts_opened: 2, notifications: 3 });

    const cwd = tempDir();
    onTestFinished(() => cwd.remove());
    const { db } = t.context.database;
    const deliveriesBefore = (await db.selectFrom("deliveries").select("id").execute()).length;
    const swept = await runTenure(
      ["sweep", "--no-deliver", "--database", t.database.url, "--policies", t.policiesPath ?? ""],
      { cwd: cwd.path, env: ENV, timeoutMs: 60_000 },
    );
    expect(swept.code, swept.stderr).toBe(0);
    const said =
      /; alerts (\d+) opened, (\d+) resolved; (\d+) notification\(s\); 1 promotion\(s\); 1 retired or rolled back on policy in/.exec(
        swept.stdout,
      );
    expect(said, swept.stdout).not.toBeNull();

    const history = await runTenure(
      ["sweep", "--history", "--json", "--database", t.database.url, "--policies", t.policiesPath ?? ""],
      { cwd: cwd.path, env: ENV },
    );
    expect(history.code, history.stderr).toBe(0);
    const at = Date.parse(JSON.parse(history.stdout).items[0].evaluated_at);
    const alerts = await db
      .selectFrom("alerts")
      .select(["kind", "opened_at", "resolved_at", "resolution"])
      .execute();
    const resolved = alerts.filter((a) => a.resolved_at !== null && Number(a.resolved_at) === at);
    const queued = (await db.selectFrom("deliveries").select("id").execute()).length - deliveriesBefore;
    // The rollback resolves fraud's due alert (Slack and the webhook), opens the expiry's alert and
    // resolves it (Slack twice); the promotion resolves recs 1's due alert (Slack).
    expect(resolved.map((a) => [a.kind, a.resolution]).sort()).toEqual([
      ["due", "rolled_back"],
      ["due", "superseded"],
      ["expired", "rolled_back"],
    ]);
    expect(queued).toBe(5);
    expect(said?.slice(1).map(Number)).toEqual([
      alerts.filter((a) => Number(a.opened_at) === at).length,
      resolved.length,
      queued,
    ]);
  });
});
