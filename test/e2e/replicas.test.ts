import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { fillDemoFleet } from "../../src/cli/demo-fleet-filler.js";
import { openContext } from "../../src/context.js";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { pollUntil, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";

const DAY_MS = 86_400_000;

/**
 * Three `tenure serve` processes on one fresh PostgreSQL database: what scale-out promises
 * (docs/RELIABILITY.md, "Scale-out"). The figures this suite prints are the ones written there.
 */
const POLICIES = `
channels:
  hook-a: { type: webhook, url: "\${HOOK_URL}/a", timeout: 5s }
  hook-b: { type: webhook, url: "\${HOOK_URL}/b", timeout: 5s }
policies:
  - name: short
    match: { model: "fraud-*" }
    max_age: 30d
    notify: { due: [hook-a, hook-b], expired: [hook-a, hook-b] }
`;

/** One request a channel receiver took: which channel, the outbox's delivery id, the alert's dedup key. */
interface Received {
  channel: string;
  delivery: string;
  dedup_key: string;
  answered: boolean;
  /** The sender's port: which process sent it (see senderPid). */
  remote_port: number;
}

/**
 * The process that holds the TCP connection from local port `port` on 127.0.0.1 (Linux: its
 * socket's inode in /proc/net/tcp, among the file descriptors of `pids`).
 */
function senderPid(port: number, pids: number[]): number | undefined {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  const inodes = readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hex}`))
    .map((f) => `socket:[${f[9]}]`);
  return pids.find((pid) =>
    readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.includes(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false;
      }
    }),
  );
}

/**
 * A webhook target for both channels that records every request as soon as its body is read,
 * then answers after `delayMs`, or, holding, not until `release` (or the sender hangs up).
 */
async function startHookReceiver() {
  const received: Received[] = [];
  let delayMs = 0;
  let holding = false;
  const held: (() => void)[] = [];
  const server = http.createServer((request, response) => {
    let raw = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => {
      raw += chunk;
    });
    request.on("end", () => {
      const body = JSON.parse(raw) as { alert: { dedup_key: string } };
      const entry: Received = {
        channel: request.url ?? "",
        delivery: String(request.headers["tenure-delivery"]),
        dedup_key: body.alert.dedup_key,
        answered: false,
        remote_port: request.socket.remotePort ?? 0,
      };
      received.push(entry);
      const answer = () => {
        if (response.destroyed) return;
        entry.answered = true;
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      };
      if (holding) held.push(answer);
      else setTimeout(answer, delayMs);
    });
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    setDelay: (ms: number) => {
      delayMs = ms;
    },
    hold: () => {
      holding = true;
    },
    release: () => {
      holding = false;
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

/** How many times each value occurs. */
function counts(values: string[]): Map<string, number> {
  const byValue = new Map<string, number>();
  for (const v of values) byValue.set(v, (byValue.get(v) ?? 0) + 1);
  return byValue;
}

async function query<T>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

const postgres = dialects().includes("postgres");

describe.skipIf(!postgres)("three tenure serve replicas on one PostgreSQL", { timeout: 120_000 }, () => {
  /** A fresh database, migrated, with an admin token, and a way to start replicas on it. */
  async function cluster(onTestFinished: (fn: () => Promise<void>) => void, hookUrl = "http://127.0.0.1:9") {
    const database: TestDatabase = await createTestDatabase("postgres");
    const cwd = tempDir();
    const policies = join(cwd.path, "policies.yaml");
    writeFileSync(policies, POLICIES);
    const env = { HOOK_URL: hookUrl, TENURE_POLICIES: policies };
    const replicas: ServeProcess[] = [];
    onTestFinished(async () => {
      for (const replica of replicas) await replica.stop();
      await database.drop();
      cwd.remove();
    });
    const init = await runTenure(["init", "--database", database.url], { cwd: cwd.path, env });
    expect(init.code, init.stderr).toBe(0);
    const created = await runTenure(["token", "create", "--scope", "admin", "--database", database.url], {
      cwd: cwd.path,
      env,
    });
    expect(created.code, created.stderr).toBe(0);
    const auth = { authorization: `Bearer ${created.stdout.trim()}`, "content-type": "application/json" };
    const start = async (extraArgs: string[] = []) => {
      const replica = await startServe({ cwd: cwd.path, database: database.url, env, extraArgs });
      replicas.push(replica);
      return replica;
    };
    const register = async (replica: ServeProcess, count: number, ageDays = 40) => {
      const deployedAt = new Date(Date.now() - ageDays * DAY_MS).toISOString();
      const answers = await Promise.all(
        Array.from({ length: count }, (_, n) =>
          fetch(`${replica.url}/v1/deployments`, {
            method: "POST",
            headers: auth,
            body: JSON.stringify({
              model: `fraud-${n}`,
              model_version: "1",
              owner_team: "risk",
              training_data_cutoff: deployedAt.slice(0, 10),
              deployment_date: deployedAt,
            }),
          }).then((r) => r.status),
        ),
      );
      expect(answers.every((status) => status === 201)).toBe(true);
    };
    const sweepNow = async (replica: ServeProcess) => {
      const response = await fetch(`${replica.url}/v1/sweeps`, { method: "POST", headers: auth, body: "{}" });
      expect(response.status, await response.clone().text()).toBe(201);
      return (await response.json()) as { id: number; alerts_opened: number; notifications: number };
    };
    return { database, auth, start, register, sweepNow };
  }

  it("each scheduled sweep slot runs once, on one replica, and no two sweeps ever overlap", async ({
    onTestFinished,
  }) => {
    const { database, start } = await cluster(onTestFinished);
    const cron = ["--sweep-cron", "* * * * * *", "--sweep-lease", "1s"];
    const replicas = await Promise.all([start(cron), start(cron), start(cron)]);
    const began = Date.now();
    await new Promise((done) => setTimeout(done, 8_000));
    await Promise.all(replicas.map((r) => r.stop()));
    const sweeps = await query<{
      id: number;
      scheduled_for: number | null;
      started_at: number;
      finished_at: number;
      state: string;
    }>(
      database.url,
      "select id, scheduled_for, started_at, finished_at, state from sweeps where scheduled_for > $1 order by scheduled_for",
      [began],
    );
    const slots = sweeps.map((s) => Number(s.scheduled_for));
    // Every second of the run was swept (no slot lost), each slot once.
    expect(sweeps.length).toBeGreaterThanOrEqual(6);
    expect(new Set(slots).size).toBe(slots.length);
    for (let i = 1; i < slots.length; i++) expect((slots[i] ?? 0) - (slots[i - 1] ?? 0)).toBe(1000);
    expect(sweeps.every((s) => s.state === "done")).toBe(true);
    for (let i = 1; i < sweeps.length; i++)
      expect(Number(sweeps[i]?.started_at)).toBeGreaterThanOrEqual(Number(sweeps[i - 1]?.finished_at));
    // Each sweep was run (and logged "sweep done") by exactly one process.
    const ran = replicas.map((r) =>
      r
        .stdout()
        .split("\n")
        .filter((line) => line.includes('"sweep done"') && line.includes('"trigger":"schedule"'))
        .map((line) => (JSON.parse(line) as { sweep: { id: number } }).sweep.id),
    );
    const ids = ran.flat();
    for (const s of sweeps) expect(ids.filter((id) => id === s.id)).toHaveLength(1);
    const window = new Set(sweeps.map((s) => s.id));
    const perReplica = ran.map((r) => r.filter((id) => window.has(id)).length);
    console.log(
      `scale-out: ${sweeps.length} one-second slots, each swept once; per replica: ${perReplica.join(", ")}`,
    );
  });

  it("each notification reaches each channel once while three replicas deliver the outbox together", async ({
    onTestFinished,
  }) => {
    const hooks = await startHookReceiver();
    onTestFinished(() => hooks.close());
    const { auth, start, register, sweepNow } = await cluster(onTestFinished, hooks.url);
    const replicas = await Promise.all([start(), start(), start()]);
    await register(replicas[1] as ServeProcess, 100);
    // Slow answers keep deliveries in flight for seconds, so every replica's dispatcher polls
    // while others hold claims: the claims must not overlap.
    hooks.setDelay(600);
    const swept = await sweepNow(replicas[0] as ServeProcess);
    expect(swept).toMatchObject({ alerts_opened: 100, notifications: 200 });
    await pollUntil(
      "200 answered deliveries",
      () => (hooks.received.filter((r) => r.answered).length >= 200 ? true : undefined),
      60_000,
    );
    await new Promise((done) => setTimeout(done, 1_000));
    expect(hooks.received).toHaveLength(200);
    for (const channel of ["/a", "/b"]) {
      const mine = hooks.received.filter((r) => r.channel === channel);
      expect([...counts(mine.map((r) => r.delivery)).values()].every((n) => n === 1)).toBe(true);
      expect(counts(mine.map((r) => r.dedup_key)).size).toBe(100);
    }
    // Who delivered what, from each replica's /metrics.
    const delivered = await Promise.all(
      replicas.map(async (r) => {
        const text = await (await fetch(`${r.url}/metrics`, { headers: auth })).text();
        return [...text.matchAll(/^tenure_alert_deliveries_total\{[^}]*outcome="delivered"[^}]*\} (\d+)/gm)]
          .map((m) => Number(m[1]))
          .reduce((a, b) => a + b, 0);
      }),
    );
    expect(delivered.reduce((a, b) => a + b, 0)).toBe(200);
    expect(delivered.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2);
    console.log(`scale-out: 200 deliveries, duplicates 0; delivered per replica: ${delivered.join(", ")}`);
  });

  it("a replica killed mid-delivery leaves each of its notifications to be sent at most once more, with the same delivery id and dedup key", async ({
    onTestFinished,
  }) => {
    const hooks = await startHookReceiver();
    onTestFinished(() => hooks.close());
    const { database, start, register, sweepNow } = await cluster(onTestFinished, hooks.url);
    const replicas = await Promise.all([start(), start(), start()]);
    await register(replicas[0] as ServeProcess, 8);
    hooks.hold();
    await sweepNow(replicas[0] as ServeProcess);
    // The replicas' dispatchers claimed the 16 deliveries and sent them; the receiver holds them open.
    await pollUntil("16 held deliveries", () => (hooks.received.length === 16 ? true : undefined));
    const pids = replicas.map((r) => r.child.pid as number);
    const senders = new Set(hooks.received.map((r) => senderPid(r.remote_port, pids)));
    expect(senders.has(undefined)).toBe(false);
    const killed = replicas.filter((r) => senders.has(r.child.pid));
    for (const replica of killed) replica.child.kill("SIGKILL");
    await Promise.all(killed.map((r) => r.exited));
    const killedAt = Date.now();
    const others = replicas.filter((r) => !killed.includes(r));
    const held = hooks.received.splice(0);
    hooks.release();
    await pollUntil(
      "every delivery recorded as delivered",
      async () => {
        const rows = await query<{ n: string }>(
          database.url,
          "select count(*) as n from deliveries where state = 'delivered'",
        );
        return Number(rows[0]?.n) === 16 ? true : undefined;
      },
      60_000,
      200,
    );
    const redeliveredAfter = Date.now() - killedAt;
    await new Promise((done) => setTimeout(done, 500));
    const again = hooks.received;
    // Each held delivery came once more, no more, with the same id and dedup key per channel.
    const key = (r: Received) => `${r.channel} ${r.delivery} ${r.dedup_key}`;
    expect(new Set(again.map(key))).toEqual(new Set(held.map(key)));
    expect([...counts(again.map(key)).values()].every((n) => n === 1)).toBe(true);
    expect(others.length).toBeGreaterThan(0);
    expect(others.every((r) => r.child.exitCode === null)).toBe(true);
    console.log(
      `scale-out: SIGKILL of ${killed.length} replica(s) mid-delivery: ${held.length} held, ${again.length} sent once more (same ids), all delivered ${redeliveredAfter} ms after the kill`,
    );
  });

  it("a route change made through one replica reaches the long polls of every replica within a second", async ({
    onTestFinished,
  }) => {
    const { auth, start } = await cluster(onTestFinished);
    const replicas = await Promise.all([start(), start(), start()]);
    const routes = (r: ServeProcess, query = "") =>
      fetch(`${r.url}/v1/routes?environment=production${query}`, { headers: auth }).then(
        async (res) => (await res.json()) as { route_version: string },
      );
    const delays: number[] = [];
    for (let round = 0; round < 5; round++) {
      const versions = await Promise.all(replicas.map((r) => routes(r)));
      const polls = replicas.map((r, i) =>
        routes(r, `&since=${encodeURIComponent(versions[i]?.route_version ?? "")}&wait=10`).then(() =>
          Date.now(),
        ),
      );
      // The long polls are waiting (PostgreSQL notifies the change to each replica's listener).
      await new Promise((done) => setTimeout(done, 200));
      const response = await fetch(`${replicas[round % 3]?.url}/v1/deployments`, {
        method: "POST",
        headers: auth,
        body: JSON.stringify({
          model: `route-${round}`,
          model_version: "1",
          owner_team: "risk",
          training_data_cutoff: "2026-11-01",
        }),
      });
      const committed = Date.now();
      expect(response.status).toBe(201);
      for (const at of await Promise.all(polls)) delays.push(at - committed);
    }
    expect(Math.max(...delays)).toBeLessThan(1_000);
    console.log(`scale-out: route change to 3 replicas' long polls, 5 rounds: max ${Math.max(...delays)} ms`);
  });

  it("killing the replica that holds the sweep lets another sweep the next slot, within one interval", async ({
    onTestFinished,
  }) => {
    const { database, start } = await cluster(onTestFinished);
    // A fleet large enough for a sweep to take a while, so a replica can be caught sweeping.
    const context = await openContext(database.url, {});
    try {
      await fillDemoFleet(context, context.registry, 3_000, Date.now());
    } finally {
      await context.close();
    }
    const intervalMs = 2_000;
    const flags = ["--sweep-cron", "*/2 * * * * *", "--sweep-lease", "1s"];
    // One after the other: three starts at once, each sweeping the fleet, starve a busy machine.
    const replicas = [await start(flags), await start(flags), await start(flags)];
    // The holder of a live lease while a sweep is running is the one sweeping (a lease outlives
    // the sweep that took it, so a live lease alone may name a replica already done): its holder
    // id carries its process id.
    const { holder, running } = await pollUntil(
      "a replica holding the sweep lease while its sweep runs",
      async () => {
        const [row] = await query<{ holder: string; running: string }>(
          database.url,
          `select l.holder, s.id as running from leases l, sweeps s
            where l.name = 'sweep' and l.expires_at > $1 and s.state = 'running'
            order by s.id desc limit 1`,
          [Date.now()],
        );
        const pid = row ? Number(row.holder.split(":")[1]) : undefined;
        const replica = replicas.find((r) => r.child.pid === pid);
        return replica && row ? { holder: replica, running: Number(row.running) } : undefined;
      },
      30_000,
      5,
    );
    holder.child.kill("SIGKILL");
    const killedAt = Date.now();
    await holder.exited;
    const next = await pollUntil(
      "a sweep by another replica after the kill",
      async () => {
        const [row] = await query<{ started_at: string; finished_at: string; scheduled_for: string }>(
          database.url,
          "select started_at, finished_at, scheduled_for from sweeps where started_at > $1 and state = 'done' order by id limit 1",
          [killedAt],
        );
        return row;
      },
      30_000,
      50,
    );
    const takeoverMs = Number(next.started_at) - killedAt;
    const [abandoned] = await query<{ state: string; error: string }>(
      database.url,
      "select state, error from sweeps where id = $1",
      [running],
    );
    expect(abandoned).toMatchObject({ state: "failed" });
    expect(abandoned?.error).toMatch(/abandoned/);
    // Timers fire a few milliseconds late on a busy machine: one interval, and 250 ms for that.
    expect(takeoverMs).toBeLessThanOrEqual(intervalMs + 250);
    console.log(
      `scale-out: holder killed mid-sweep; next sweep by another replica started ${takeoverMs} ms later (interval ${intervalMs} ms, lease 1 s)`,
    );
  });
});
