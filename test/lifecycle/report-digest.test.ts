import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { deliveryNumber } from "../../src/alerts/channels/digest.js";
import { verifySignature } from "../../src/alerts/channels/webhook.js";
import { openContext } from "../../src/context.js";
import { EgressPolicy } from "../../src/egress-policy.js";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { DIGEST_LEASE } from "../../src/lifecycle/digest-scheduler.js";
import { RegisterDeploymentBody } from "../../src/registry/deployment-input.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { type Receiver, startReceiver } from "../support/receivers.js";
import { registration } from "../support/test-app.js";

const DAY = 86_400_000;
/** Monday 4 January 2027, 09:00 UTC: a slot of "0 9 * * MON". */
const MONDAY = Date.parse("2027-01-04T09:00:00.000Z");
const SECRET = "a-webhook-secret-of-some-length";
const ADMIN = { name: "test", key_scope: "test", team: null, scope: "admin" as const };

interface SlackMessage {
  text: string;
  blocks: { type: string; text?: { text: string }; elements?: { text: string }[] }[];
}

describe.each(dialects())("the rot report's digest per team, sent by a started server on %s", (dialect) => {
  let database: TestDatabase;
  let dir: string;
  let slack: Receiver;
  let hook: Receiver;
  let server: RunningServer | undefined;
  let now = MONDAY + 30 * 60_000;

  afterEach(async () => {
    await server?.close();
    server = undefined;
    await slack?.close();
    await hook?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Team risk with an expired model and a due one; team growth with a fresh one. */
  const seed = async () => {
    now = MONDAY + 30 * 60_000;
    database = await createTestDatabase(dialect);
    dir = mkdtempSync(join(tmpdir(), "tenure-digest-"));
    slack = await startReceiver("slack");
    hook = await startReceiver("webhook", { secret: SECRET });
    const policies = join(dir, "policies.yaml");
    writeFileSync(
      policies,
      `
channels:
  risk-slack: { type: slack, url: "${slack.url}" }
  ops-hook: { type: webhook, url: "${hook.url}", secret: "${SECRET}" }
report:
  every: "0 9 * * MON"
  notify: [ops-hook]
  teams:
    risk: [risk-slack]
policies:
  - name: fraud
    match: { model: "fraud-*" }
    max_age: 30d
`,
    );
    const context = await openContext(database.url, { clock: () => now, policies });
    try {
      const register = (overrides: Record<string, unknown>) =>
        context.registry.register(RegisterDeploymentBody.parse(registration(overrides)), ADMIN);
      await register({ model: "fraud-rules", deployment_date: new Date(now - 40 * DAY).toISOString() });
      await register({ model: "fraud-xgb", deployment_date: new Date(now - 26 * DAY).toISOString() });
      await register({
        model: "recs",
        owner_team: "growth",
        deployment_date: new Date(now - DAY).toISOString(),
      });
    } finally {
      await context.close();
    }
    return policies;
  };

  const start = async (policies: string) => {
    server = await startServer({
      databaseUrl: database.url,
      host: "127.0.0.1",
      port: 0,
      publicRead: false,
      logFile: join(dir, "serve.log"),
      policies,
      clock: () => now,
      egress: EgressPolicy.allowPrivate(),
    });
    // The pass start() began: it sends what the latest slot owes.
    await server.digests.settled();
    return server;
  };

  it("sends each team's digest once per slot: Slack blocks with a text fallback, a signed webhook with the markdown", async () => {
    const policies = await seed();
    await start(policies);
    expect(slack.rejected).toEqual([]);
    expect(slack.received).toHaveLength(1);
    const message = slack.received[0]?.body as SlackMessage;
    expect(message.text).toBe("Rot report for risk: 2 live; 1 expired, 1 due");
    expect(message.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Rot report: risk" },
    });
    const texts = message.blocks.map((b) => b.text?.text ?? b.elements?.[0]?.text ?? "");
    expect(texts).toContainEqual(
      expect.stringMatching(
        /^\*Expired \(1\)\*\n• fraud-rules 3\.2\.0 \(production, #\d+\): 40d old, TTL 30d, 10d overdue$/,
      ),
    );
    expect(texts).toContainEqual(
      expect.stringMatching(/^\*Due in the next 14d \(1\)\*\n• fraud-xgb 3\.2\.0 .*: expires in 4d/),
    );
    expect(texts.at(-1)).toMatch(
      /^<http:\/\/127\.0\.0\.1:\d+\/v1\/report\?owner_team=risk\|The report in Tenure>$/,
    );

    expect(hook.rejected).toEqual([]);
    expect(hook.received).toHaveLength(1);
    const delivery = hook.received[0];
    const body = delivery?.body as {
      type: string;
      owner_team: string;
      markdown: string;
      report: { teams: unknown[] };
    };
    expect(body).toMatchObject({ type: "rot_report", owner_team: "growth" });
    expect(body.markdown).toContain("## growth\n");
    expect(body.report.teams).toHaveLength(1);
    expect(
      verifySignature(
        SECRET,
        String(delivery?.headers["tenure-signature"]),
        delivery?.raw ?? "",
        Math.floor(Date.now() / 1000),
      ),
    ).toBe(true);
    expect(delivery?.headers["tenure-digest"]).toBe(`growth/ops-hook/${new Date(MONDAY).toISOString()}`);
    expect(delivery?.headers["tenure-delivery"]).toBe(
      deliveryNumber(`growth/ops-hook/${new Date(MONDAY).toISOString()}`),
    );

    // A restart within the same slot sends nothing again: the slot's digests are recorded as sent.
    await server?.close();
    now += 60 * 60_000;
    await start(policies);
    expect(slack.received).toHaveLength(1);
    expect(hook.received).toHaveLength(1);
    const rows = await server?.context.stores.digests.slotDigests(MONDAY);
    expect(rows?.map((r) => [r.owner_team, r.channel, r.state, r.attempts]).sort()).toEqual([
      ["growth", "ops-hook", "sent", 1],
      ["risk", "risk-slack", "sent", 1],
    ]);

    // The next Monday's slot, missed while no server ran, is sent when one starts.
    await server?.close();
    now = MONDAY + 7 * DAY + 5 * 60_000;
    await start(policies);
    expect(slack.received).toHaveLength(2);
    expect(hook.received).toHaveLength(2);
    expect((slack.received[1]?.body as SlackMessage | undefined)?.text).toBe(
      "Rot report for risk: 2 live; 2 expired",
    );
  });

  it("tries a failed digest again until it is delivered, and sends nothing while another replica holds the lease", async () => {
    const policies = await seed();
    slack.setMode("error503");
    await start(policies);
    const running = server as RunningServer;
    expect(slack.received).toHaveLength(0);
    expect(hook.received).toHaveLength(1);
    const [pending] = (await running.context.stores.digests.slotDigests(MONDAY)).filter(
      (r) => r.channel === "risk-slack",
    );
    expect(pending).toMatchObject({
      state: "pending",
      attempts: 1,
      last_error: expect.stringMatching(/^HTTP 503/),
    });

    slack.setMode("ok");
    // Before its next attempt is due, nothing is sent.
    expect(await running.digests.runDue()).toMatchObject({ sent: 0, waiting: 1 });
    now += 10 * 60_000;
    const other = await running.context.stores.leases.acquire(DIGEST_LEASE, "another-replica", now, 60_000);
    expect(other).toBeDefined();
    expect(await running.digests.runDue()).toMatchObject({ skipped: "lease_held", sent: 0 });
    expect(slack.received).toHaveLength(0);
    if (other) await running.context.stores.leases.release(other);
    expect(await running.digests.runDue()).toMatchObject({ sent: 1, failed: 0 });
    expect(slack.received).toHaveLength(1);
    expect(hook.received).toHaveLength(1);
  });
});
