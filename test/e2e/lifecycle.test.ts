import { writeFileSync } from "node:fs";
import { join } from "node:path";
import SqliteDatabase from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects } from "../support/databases.js";
import { pollUntil, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";
import { type Receiver, startReceiver } from "../support/receivers.js";

const DAY_MS = 86_400_000;
const ROUTING_KEY = "0123456789abcdef0123456789abcdef";

const policyFile = (maxAge: string) => `
channels:
  oncall: { type: pagerduty, routing_key: "${ROUTING_KEY}", url: "\${PD_URL}", timeout: 2s }
policies:
  - name: short
    match: { model: "fraud-*" }
    max_age: ${maxAge}
    notify: { due: [oncall], expired: [oncall] }
`;

/** Runs one SQL statement on a test database, whichever dialect it is. */
async function execSql(url: string, text: string): Promise<void> {
  if (!url.startsWith("postgres")) {
    const db = new SqliteDatabase(url);
    db.exec(text);
    db.close();
    return;
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(text);
  await client.end();
}

describe.concurrent.each(dialects())("the lifecycle as processes on %s", { timeout: 90_000 }, (dialect) => {
  let pagerduty: Receiver;
  beforeAll(async () => {
    pagerduty = await startReceiver("pagerduty");
  });
  afterAll(async () => {
    await pagerduty.close();
  });

  async function fresh(onTestFinished: (fn: () => Promise<void>) => void, receiverUrl = pagerduty.url) {
    const database = await createTestDatabase(dialect);
    const cwd = tempDir();
    const policies = join(cwd.path, "policies.yaml");
    writeFileSync(policies, policyFile("30d"));
    const env = { PD_URL: receiverUrl, TENURE_POLICIES: policies };
    const servers: ServeProcess[] = [];
    onTestFinished(async () => {
      for (const server of servers) await server.stop();
      await database.drop();
      cwd.remove();
    });
    const tenure = (...args: string[]) =>
      runTenure([...args, "--database", database.url], { cwd: cwd.path, env });
    const init = await tenure("init");
    expect(init.code, init.stderr).toBe(0);
    const serve = async (extraArgs: string[] = []) => {
      const server = await startServe({ cwd: cwd.path, database: database.url, env, extraArgs });
      servers.push(server);
      return server;
    };
    return { database, cwd, policies, tenure, serve };
  }

  it("a notification queued by a process that stopped before delivering it is delivered once by the next server", async ({
    onTestFinished,
  }) => {
    const receiver = await startReceiver("pagerduty");
    onTestFinished(() => receiver.close());
    const { tenure, serve } = await fresh(onTestFinished, receiver.url);
    const past = new Date(Date.now() - 40 * DAY_MS).toISOString();
    expect(
      (
        await tenure(
          "deploy",
          "fraud-a",
          "1",
          "--team",
          "risk",
          "--trained-through",
          past.slice(0, 10),
          "--deployed-at",
          past,
        )
      ).code,
    ).toBe(0);
    const swept = await tenure("sweep", "--no-deliver", "--json");
    expect(swept.code, swept.stderr).toBe(0);
    expect(JSON.parse(swept.stdout)).toMatchObject({
      alerts_opened: 1,
      notifications: 1,
      delivery: null,
    });
    expect(receiver.received).toHaveLength(0);

    const server = await serve();
    await pollUntil("the delivery", () => (receiver.received.length > 0 ? true : undefined));
    await server.stop();
    await serve();
    await new Promise((done) => setTimeout(done, 500));
    expect(receiver.received).toHaveLength(1);
  });

  it("a server killed while its receiver is down loses nothing: after a restart each alert arrives exactly once", async ({
    onTestFinished,
  }) => {
    const receiver = await startReceiver("pagerduty");
    onTestFinished(() => receiver.close());
    receiver.setMode("error503");
    const { tenure, serve } = await fresh(onTestFinished, receiver.url);
    const past = new Date(Date.now() - 40 * DAY_MS).toISOString();
    for (const model of ["fraud-a", "fraud-b", "fraud-c"]) {
      await tenure(
        "deploy",
        model,
        "1",
        "--team",
        "risk",
        "--trained-through",
        past.slice(0, 10),
        "--deployed-at",
        past,
      );
    }
    const token = (await tenure("token", "create", "--scope", "admin")).stdout.trim();
    const server = await serve();
    const auth = { authorization: `Bearer ${token}`, "content-type": "application/json" };
    // The server swept at start (a fresh database has never been swept): alerts and outbox rows exist.
    const attempted = async () => {
      const res = await fetch(`${server.url}/v1/deliveries?state=pending`, { headers: auth });
      const { items } = (await res.json()) as { items: { attempts: number }[] };
      return items.length === 3 && items.every((d) => d.attempts >= 1) ? true : undefined;
    };
    await pollUntil("a failed attempt of every delivery", attempted);
    server.child.kill("SIGKILL");
    expect((await server.exited).signal).toBe("SIGKILL");

    receiver.setMode("ok");
    const again = await serve();
    await pollUntil("three deliveries", () => (receiver.received.length >= 3 ? true : undefined), 30_000);
    await new Promise((done) => setTimeout(done, 500));
    expect(receiver.received).toHaveLength(3);
    const res = await fetch(`${again.url}/v1/deliveries?state=delivered`, { headers: auth });
    expect(((await res.json()) as { items: unknown[] }).items).toHaveLength(3);
  });

  it("sweeps a slot missed while the server was down at the next start, and only once", async ({
    onTestFinished,
  }) => {
    const { database, serve, tenure } = await fresh(onTestFinished);
    const history = async () =>
      JSON.parse((await tenure("sweep", "--history", "--json")).stdout).items as {
        trigger: string;
        state: string;
        scheduled_for: string;
      }[];
    // The missed sweep runs in the background once the server listens: wait for it in the log.
    const sweeps = (count: number) =>
      pollUntil(`${count} sweep(s) in the log`, async () => {
        const items = await history();
        return items.length === count && items.every((s) => s.state === "done") ? items : undefined;
      });
    const first = await serve();
    let items = await sweeps(1);
    await first.stop();
    expect(items).toMatchObject([{ trigger: "startup", state: "done" }]);
    const slot = Date.parse(items[0]?.scheduled_for ?? "");
    expect(slot % DAY_MS).toBe(0);

    // A restart on the same day sweeps nothing new.
    const second = await serve();
    await new Promise((done) => setTimeout(done, 1000));
    await second.stop();
    expect(await history()).toHaveLength(1);

    // As if the last scheduled sweep were a day older: today's slot was missed.
    await execSql(database.url, `update sweeps set scheduled_for = scheduled_for - ${DAY_MS}`);
    const third = await serve();
    items = await sweeps(2);
    await third.stop();
    expect(items[0]).toMatchObject({ trigger: "startup", scheduled_for: new Date(slot).toISOString() });
  });

  it("reloads the policy file on SIGHUP, and keeps the old policies when the new file is invalid", async ({
    onTestFinished,
  }) => {
    if (process.platform === "win32") return;
    const { tenure, serve, policies } = await fresh(onTestFinished);
    await tenure("deploy", "fraud-a", "1", "--team", "risk", "--trained-through", "2026-01-01");
    const server = await serve(["--public-read"]);
    const ttl = async () =>
      ((await (await fetch(`${server.url}/v1/deployments/1`)).json()) as { age: { ttl_seconds: number } }).age
        .ttl_seconds;
    expect(await ttl()).toBe(30 * 86_400);

    writeFileSync(policies, policyFile("45d"));
    server.child.kill("SIGHUP");
    await pollUntil("the new TTL", async () => ((await ttl()) === 45 * 86_400 ? true : undefined));

    writeFileSync(policies, "policies: [{ name: Bad }]\n");
    server.child.kill("SIGHUP");
    await pollUntil("the reload error in the log", () =>
      /not valid/.test(server.stdout()) ? true : undefined,
    );
    expect(await ttl()).toBe(45 * 86_400);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("refuses to start with an invalid policy file or sweep schedule, naming the problem in one line", async ({
    onTestFinished,
  }) => {
    const { cwd, database, policies } = await fresh(onTestFinished);
    writeFileSync(policies, "policies:\n  - name: x\n    max_age: soon\n");
    const bad = await runTenure(
      ["serve", "--database", database.url, "--policies", policies, "--port", "18089"],
      { cwd: cwd.path },
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /^tenure: policy file .* is not valid: 3:\d+ policies\.0\.max_age: must be a duration/,
    );
    const cron = await runTenure(
      ["serve", "--database", database.url, "--sweep-cron", "every day", "--port", "18089"],
      {
        cwd: cwd.path,
      },
    );
    expect(cron.code).toBe(2);
    expect(cron.stderr.trim().split("\n")).toHaveLength(1);
    expect(cron.stderr).toMatch(/--sweep-cron/);
  });

  it("tenure check exits 1 listing the offenders, and 0 when nothing in scope is at the stage", async ({
    onTestFinished,
  }) => {
    const { tenure } = await fresh(onTestFinished);
    const past = new Date(Date.now() - 40 * DAY_MS).toISOString();
    await tenure(
      "deploy",
      "fraud-a",
      "1",
      "--team",
      "risk",
      "--trained-through",
      past.slice(0, 10),
      "--deployed-at",
      past,
    );
    await tenure("deploy", "other", "1", "--team", "ads", "--trained-through", "2026-11-01");
    const failing = await tenure("check");
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/fraud-a +1 +production +risk +40d of 30d \(133%\) +expired/);
    expect(failing.stderr.trim()).toBe("tenure: expired: the deployments above fail the check");
    const scoped = await tenure("check", "--team", "ads", "--json");
    expect(scoped.code).toBe(0);
    expect(JSON.parse(scoped.stdout)).toMatchObject({ ok: true, checked: 1, offenders: [] });
  });
});
