import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { pollUntil, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";
import { checkLedger, runWriteLoad, WriteLedger } from "../support/write-load.js";

/** Kill-and-restart cycles a dialect goes through; with the restarts they take some 20 s. */
const CYCLES = 6;
/** How long the server runs under load before it is killed: a random moment in this range. */
const UP_MS = { min: 300, max: 2_000 };
const CLIENTS = 8;

describe.each(dialects())("tenure serve killed with SIGKILL under write load on %s", (dialect) => {
  let database: TestDatabase;
  let dir: ReturnType<typeof tempDir>;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    dir = tempDir();
  });
  afterAll(async () => {
    await database?.drop();
    dir?.remove();
  });

  it("keeps every acknowledged registration, metric point and review once, and its state follows its events", async () => {
    const created = await runTenure(["token", "create", "--scope", "write", "--name", "crash-load"], {
      cwd: dir.path,
      env: { TENURE_DATABASE_URL: database.url },
    });
    expect(created.code, created.stderr).toBe(0);
    const token = created.stdout.trim();

    let server: ServeProcess | undefined = await startServe({ cwd: dir.path, database: database.url });
    let current: string | undefined = server.url;
    const ledger = new WriteLedger();
    const stop = new AbortController();
    const halt = new AbortController();
    const load = runWriteLoad({
      target: () => current,
      token,
      clients: CLIENTS,
      ledger,
      signal: stop.signal,
      halt: halt.signal,
    });
    const recoveries: number[] = [];
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const before = ledger.acknowledged();
        await new Promise((next) => setTimeout(next, UP_MS.min + Math.random() * (UP_MS.max - UP_MS.min)));
        // The moment is random, but the server must have been taking writes when it dies: on a
        // crowded machine its first answers can come later than the moment drawn.
        await pollUntil(`writes acknowledged in cycle ${cycle}`, () =>
          ledger.acknowledged() > before ? true : undefined,
        );
        current = undefined;
        const killedAt = Date.now();
        server.child.kill("SIGKILL");
        expect((await server.exited).signal).toBe("SIGKILL");
        server = undefined;
        server = await startServe({ cwd: dir.path, database: database.url });
        recoveries.push(Date.now() - killedAt);
        current = server.url;
      }
      // The last server stays up while the clients retry what was never acknowledged.
      stop.abort();
      await load;
    } finally {
      halt.abort();
      await load;
      await server?.stop();
    }

    const check = await checkLedger(database.url, ledger);
    const serverErrors = ledger.answers.filter((a) => a.status >= 500 && a.status !== 503);
    process.stdout.write(
      `crash safety on ${dialect}: ${CYCLES} SIGKILLs, ${ledger.acknowledged()} writes acknowledged ` +
        `(${check.registrations_acknowledged} registrations, ${check.points_acknowledged} metric points, ` +
        `${check.reviews_acknowledged} reviews), ${ledger.unansweredReviews.size} reviews unanswered, ${ledger.replays} registrations replayed, ` +
        `lost ${check.missing_registrations.length + check.missing_points.length + check.missing_reviews.length}, ` +
        `recovery ${Math.min(...recoveries)}-${Math.max(...recoveries)} ms (kill to healthy)\n`,
    );
    expect(serverErrors, "no 5xx other than 503").toEqual([]);
    expect(ledger.failures).toEqual([]);
    // Registrations sent again with their key were answered as the first time, not registered anew.
    expect(ledger.replays).toBeGreaterThan(0);
    expect(check).toEqual({
      registrations_acknowledged: ledger.keysSent.size,
      missing_registrations: [],
      duplicated_registrations: [],
      unexplained_deployments: [],
      points_acknowledged: ledger.keysSent.size * 3,
      missing_points: [],
      duplicated_points: [],
      reviews_acknowledged: ledger.reviews.size,
      missing_reviews: [],
      duplicated_reviews: [],
      live_primaries_over_one: [],
      state_not_from_events: [],
    });
    // The kills came mid-request: some answers never arrived, and were retried.
    expect(ledger.answers.filter((a) => a.status === 0).length).toBeGreaterThan(0);
  }, 180_000);
});
