import { sql } from "kysely";
import { afterEach, describe, expect, it } from "vitest";
import { SweepFailedError } from "../../src/core/errors.js";
import {
  SWEEP_LEASE,
  Sweeper,
  SweepLeaseHeldError,
  SweepLeaseLostError,
} from "../../src/lifecycle/sweeper.js";
import type { Stores } from "../../src/store/stores.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const DAY = 86_400_000;
const T0 = Date.parse("2027-01-01T00:00:00Z");

describe.each(dialects())("the sweep lease on %s", (dialect) => {
  let t: TestApp;
  afterEach(async () => {
    await t?.close();
  });

  const deploy = async (count: number) => {
    t = await startTestApp(dialect, { now: T0 });
    for (let n = 0; n < count; n++) {
      const response = await t.request({
        method: "POST",
        url: "/v1/deployments",
        body: registration({ environment: `production-${n}`, training_data_cutoff: "2026-12-20" }),
      });
      expect(response.statusCode).toBe(201);
    }
  };

  it("a sweep left running by a process that died blocks others only until its lease expires, then is marked abandoned", async () => {
    await deploy(2);
    const { stores, registry, incidents } = t.context;
    let now = T0 + 100 * DAY;
    const clock = () => now;
    // A process that took the lease and logged its sweep as running, then died: no renewal, no end.
    const dead = await stores.leases.acquire(SWEEP_LEASE, "dead-pod", now, 2_000);
    const stranded = await stores.sweeps.claimSweep({
      trigger: "schedule",
      actor: "tenure:scheduler",
      evaluated_at: now,
      scheduled_for: now,
      started_at: now,
    });
    expect(dead?.fencing_token).toBe(1);
    const sweeper = new Sweeper({ stores, registry, incidents, clock, leaseMs: 2_000, holder: "live-pod" });

    now += 1_999;
    const refused = await sweeper.run({ trigger: "manual", actor: "test" }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(SweepLeaseHeldError);
    expect((refused as SweepLeaseHeldError).expires_at).toBe(T0 + 100 * DAY + 2_000);

    now += 1;
    const swept = await sweeper.run({ trigger: "manual", actor: "test" });
    expect(swept).toMatchObject({ state: "done", deployments: 2 });
    const [, abandoned] = await stores.sweeps.listSweeps(2);
    expect(abandoned).toMatchObject({ id: stranded?.id, state: "failed" });
    expect(abandoned?.error).toMatch(/abandoned/);
    // Released at the end: the next sweep need not wait, and its token is the next one.
    expect(await stores.leases.current(SWEEP_LEASE)).toMatchObject({ fencing_token: 2, expires_at: 0 });
  });

  it("a sweep whose lease is taken over mid-run writes no alert after that and is logged as failed", async () => {
    await deploy(7);
    const { stores, registry, incidents, database } = t.context;
    const clock = () => T0 + 101 * DAY;
    // Before the sweep's second transaction (its second batch's alerts), another process takes
    // the lease over, as if this one had stalled past its expiry: its token is no longer the table's.
    let transactions = 0;
    let takenOver = false;
    const racing = new Proxy(stores, {
      get(target, property) {
        if (property !== "transaction") {
          const value = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return async <T>(work: (tx: Stores) => Promise<T>) => {
          if (++transactions === 2) {
            await sql`update leases set holder = 'usurper', fencing_token = fencing_token + 1`.execute(
              database.db,
            );
            takenOver = true;
          }
          return target.transaction(work);
        };
      },
    });
    const sweeper = new Sweeper({ stores: racing, registry, incidents, clock, pageSize: 3, batchSize: 2 });
    const outcome = await sweeper
      .run({ at: T0 + 100 * DAY, trigger: "manual", actor: "test" })
      .catch((error: unknown) => error);
    expect(takenOver).toBe(true);
    expect(outcome).toBeInstanceOf(SweepFailedError);
    expect((outcome as SweepFailedError).cause).toBeInstanceOf(SweepLeaseLostError);
    // Only the first batch's two alerts were written; the other five deployments' were refused.
    const alerts = await t.request({ method: "GET", url: "/v1/alerts?state=open" });
    expect(alerts.json().items).toHaveLength(2);
    const [sweep] = await stores.sweeps.listSweeps(1);
    expect(sweep).toMatchObject({ state: "failed" });
    expect(sweep?.error).toMatch(/lease was taken over/);
  });
});
