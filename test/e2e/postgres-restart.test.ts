import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { hasExternalTool } from "../support/external-tool.js";
import { type PostgresCluster, postgresBinDir, startPostgresCluster } from "../support/postgres-cluster.js";
import { pollUntil, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";
import { type Answer, checkLedger, runWriteLoad, WriteLedger } from "../support/write-load.js";

const hasPostgresServer = hasExternalTool(join(postgresBinDir(), "pg_ctl"), "apt-get install postgresql");

/** Restarts with `pg_ctl restart -m fast`, then one stop that lasts this long before the start. */
const RESTARTS = 2;
const STOPPED_MS = 2_000;
/** A request the database cannot serve is answered within this; anything slower is a hang. */
const FAIL_FAST_MS = 2_000;
const CLIENTS = 8;
/** Writes acknowledged between one outage and the next. */
const WRITES_BETWEEN = 100;

// The shared PostgreSQL at 127.0.0.1:5432 serves every other suite and must never restart: this
// one starts a cluster of its own (initdb into a temporary folder, on a free port) and restarts that.
describe.skipIf(!hasPostgresServer)("tenure serve while its own PostgreSQL restarts under write load", () => {
  const dir = tempDir();
  let cluster: PostgresCluster | undefined;
  afterAll(async () => {
    await cluster?.remove();
    dir.remove();
  });

  it("answers 503 with Retry-After at once while the database is away, reconnects by itself and loses no acknowledged write", async () => {
    cluster = await startPostgresCluster();
    const db = cluster;
    const created = await runTenure(["token", "create", "--scope", "write", "--name", "restart-load"], {
      cwd: dir.path,
      env: { TENURE_DATABASE_URL: db.url },
    });
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();

    const server: ServeProcess = await startServe({ cwd: dir.path, database: db.url });
    const ledger = new WriteLedger();
    const stop = new AbortController();
    const halt = new AbortController();
    const load = runWriteLoad({
      target: () => server.url,
      token,
      clients: CLIENTS,
      ledger,
      signal: stop.signal,
      halt: halt.signal,
    });
    const acknowledgedSince = (since: number) =>
      ledger.answers.some((a) => a.status >= 200 && a.status < 300 && a.at >= since) ? true : undefined;
    const outages: Array<{
      kind: string;
      down_at: number;
      ready_at: number;
      down_ms: number;
      recovered_ms: number;
    }> = [];
    const healthWhileDown: Array<{ status: number; retry_after: string | null }> = [];
    try {
      /** Runs `outage` under load, then waits for a write sent after the database came back to be acknowledged. */
      const survive = async (kind: string, outage: () => Promise<void>) => {
        const before = ledger.acknowledged();
        await pollUntil("writes acknowledged before the outage", () =>
          ledger.acknowledged() >= before + WRITES_BETWEEN ? true : undefined,
        );
        const downAt = Date.now();
        await outage();
        const readyAt = Date.now();
        await pollUntil(
          "a write acknowledged after PostgreSQL is back",
          () => acknowledgedSince(readyAt),
          20_000,
        );
        const firstBack = Math.min(
          ...ledger.answers
            .filter((a) => a.status >= 200 && a.status < 300 && a.at >= readyAt)
            .map((a) => a.at + a.ms),
        );
        outages.push({
          kind,
          down_at: downAt,
          ready_at: readyAt,
          down_ms: readyAt - downAt,
          recovered_ms: firstBack - readyAt,
        });
      };
      for (let i = 0; i < RESTARTS; i++) await survive("pg_ctl restart -m fast", () => db.restart());
      await survive(`pg_ctl stop -m fast, ${STOPPED_MS} ms down, start`, async () => {
        await db.stop();
        const stoppedAt = Date.now();
        // Writes go on meanwhile; a health check sees the database gone.
        const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(FAIL_FAST_MS) });
        healthWhileDown.push({ status: health.status, retry_after: health.headers.get("retry-after") });
        await pollUntil("503 answers while PostgreSQL is stopped", () =>
          ledger.answers.filter((a) => a.status === 503 && a.at >= stoppedAt).length >= CLIENTS
            ? true
            : undefined,
        );
        await new Promise((next) => setTimeout(next, STOPPED_MS - (Date.now() - stoppedAt)));
        await db.start();
      });
      // Writes still unacknowledged are retried against the database that is back.
      stop.abort();
      await load;
    } finally {
      halt.abort();
      await load;
    }
    const runningAfter = server.child.exitCode === null && server.child.signalCode === null;
    await server.stop();

    const unavailable = ledger.answers.filter((a) => a.status === 503);
    // Requests in flight at any moment of an outage: the ones that must not hang.
    const duringOutage = (a: Answer) => outages.some((o) => a.at <= o.ready_at && a.at + a.ms >= o.down_at);
    const check = await checkLedger(db.url, ledger);
    process.stdout.write(
      `PostgreSQL restarts: ${outages.length} outages (${outages.map((o) => `${o.kind}: down ${o.down_ms} ms, first write acknowledged ${o.recovered_ms} ms after`).join("; ")}), ` +
        `${ledger.acknowledged()} writes acknowledged, ${ledger.replays} registrations replayed, ${unavailable.length} answered 503 (slowest ${Math.max(0, ...unavailable.map((a) => a.ms))} ms), ` +
        `slowest answer during an outage ${Math.max(0, ...ledger.answers.filter(duringOutage).map((a) => a.ms))} ms, ` +
        `lost ${check.missing_registrations.length + check.missing_points.length + check.missing_reviews.length}\n`,
    );

    expect(runningAfter, "tenure serve kept running through the outages").toBe(true);
    expect(ledger.failures).toEqual([]);
    // Registrations sent again with their key were answered as the first time, not registered anew.
    expect(ledger.replays).toBeGreaterThan(0);
    expect(healthWhileDown).toEqual([{ status: 503, retry_after: "1" }]);
    expect(unavailable.length, "requests met the outages").toBeGreaterThan(0);
    const wrong = (a: Answer) =>
      a.status === 0 ||
      (a.status >= 300 && a.status !== 503) ||
      (a.status === 503 && a.retry_after !== "1") ||
      (duringOutage(a) && a.ms > FAIL_FAST_MS);
    expect(ledger.answers.filter(wrong), "every answer a 2xx, or a 503 with Retry-After, in time").toEqual(
      [],
    );
    expect(check).toMatchObject({
      registrations_acknowledged: ledger.keysSent.size,
      missing_registrations: [],
      duplicated_registrations: [],
      unexplained_deployments: [],
      points_acknowledged: ledger.keysSent.size * 3,
      missing_points: [],
      duplicated_points: [],
      missing_reviews: [],
      duplicated_reviews: [],
      live_primaries_over_one: [],
      state_not_from_events: [],
    });
  }, 180_000);
});
