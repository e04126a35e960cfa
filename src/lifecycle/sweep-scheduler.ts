import { Cron } from "croner";
import type { Logger } from "pino";
import { ConflictError, InputError } from "../core/errors.js";
import type { Stores } from "../store/stores.js";
import { SweepLeaseHeldError, type SweepRequest } from "./sweeper.js";

export { DEFAULT_SWEEP_CRON } from "../config.js";

/** setTimeout holds at most 2^31−1 ms; waking hourly also notices promotions registered meanwhile. */
const MAX_SLEEP_MS = 3_600_000;

export interface SweepSchedulerOptions {
  cron: string;
  /** Where the last scheduled slot (sweeps) and the next promotion (deployments) are read. */
  stores: Pick<Stores, "sweeps" | "deployments">;
  run: (request: SweepRequest) => Promise<unknown>;
  clock?: () => number;
  logger?: Logger;
}

/** Checks a cron expression (five or six fields, UTC); an InputError names what is wrong. */
export function parseSweepCron(expression: string): Cron {
  try {
    return new Cron(expression, { timezone: "UTC", paused: true });
  } catch (error) {
    throw new InputError(`--sweep-cron ${JSON.stringify(expression)} is not a cron expression`, [
      { field: "--sweep-cron", message: error instanceof Error ? error.message : String(error) },
    ]);
  }
}

/**
 * Runs the sweep on its cron schedule, and scheduled promotions when their time comes. A slot
 * missed while no server ran is swept at start. Each slot is claimed in the database
 * (`sweeps.scheduled_for` is unique), so replicas sharing it sweep each slot once.
 */
export class SweepScheduler {
  private readonly cron: Cron;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: SweepSchedulerOptions) {
    this.cron = parseSweepCron(options.cron);
    this.clock = options.clock ?? Date.now;
  }

  /**
   * Sweeps a slot missed while no server ran, in the background, then keeps the schedule.
   * Resolves at once: the server answers while the missed sweep runs; `stop` waits for it.
   */
  start(): void {
    this.running = (async () => {
      const now = this.clock();
      const latest = this.slotAtOrBefore(now);
      const last = await this.options.stores.sweeps.lastScheduledSlot();
      if (latest !== undefined && (last === undefined || last < latest)) {
        this.options.logger?.info(
          { slot: new Date(latest).toISOString() },
          "sweeping a slot missed while the server was down",
        );
        await this.sweep({ trigger: "startup", scheduled_for: latest });
      }
    })()
      .catch((error: unknown) => this.options.logger?.error({ err: error }, "the missed sweep failed"))
      .finally(() => this.arm());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    clearTimeout(this.timer);
    await this.running;
  }

  /** The next time the schedule will sweep. */
  nextSlot(after = this.clock()): number | undefined {
    return this.cron.nextRun(new Date(after))?.getTime();
  }

  private slotAtOrBefore(at: number): number | undefined {
    return this.cron.previousRuns(1, new Date(at + 1))[0]?.getTime();
  }

  private arm(): void {
    if (this.stopped) return;
    this.running = (async () => {
      const now = this.clock();
      const slot = this.nextSlot(now);
      const promotion = await this.options.stores.deployments.nextPromotion().catch(() => undefined);
      const wakeAt = Math.min(
        slot ?? Infinity,
        promotion !== undefined && promotion > now ? promotion : Infinity,
      );
      const delay = Math.min(MAX_SLEEP_MS, Math.max(0, wakeAt - now));
      this.timer = setTimeout(() => this.wake(slot, promotion), delay);
      // The schedule alone does not keep the process alive: the server does.
      this.timer.unref();
    })();
  }

  private wake(slot: number | undefined, promotion: number | undefined): void {
    this.running = (async () => {
      const now = this.clock();
      if (slot !== undefined && now >= slot) await this.sweep({ trigger: "schedule", scheduled_for: slot });
      else if (promotion !== undefined && now >= promotion) await this.sweep({ trigger: "promotion" });
    })().finally(() => this.arm());
  }

  private async sweep(request: Omit<SweepRequest, "actor">): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      try {
        const sweep = await this.options.run({ ...request, actor: "tenure:scheduler" });
        this.options.logger?.info({ trigger: request.trigger, sweep }, "sweep done");
        return;
      } catch (error) {
        const retryAt = this.retryAt(request, error);
        if (retryAt !== undefined) {
          // Another replica holds the lease: sweeping this slot, or dead mid-sweep. Trying again
          // when its lease runs out sweeps the slot then, unless the live holder swept it (the
          // slot's claim refuses a second run); so a dead holder delays a slot by one lease.
          this.options.logger?.debug(
            { retry_at: new Date(retryAt).toISOString() },
            "waiting for the sweep lease",
          );
          await abortableSleep(retryAt - this.clock(), this.stopping.signal);
          continue;
        }
        // Another replica claimed the slot, or a manual sweep is running: not a fault.
        if (error instanceof ConflictError) {
          this.options.logger?.info({ reason: error.message }, "scheduled sweep skipped");
          return;
        }
        this.options.logger?.error({ err: error }, "scheduled sweep failed; the next slot will try again");
        return;
      }
    }
  }

  /** When to ask for the lease again for this slot: before the next slot only. */
  private retryAt(request: Omit<SweepRequest, "actor">, error: unknown): number | undefined {
    if (!(error instanceof SweepLeaseHeldError) || request.scheduled_for === undefined) return undefined;
    const retryAt = Math.max(error.expires_at, this.clock()) + LEASE_RETRY_SLACK_MS;
    const next = this.nextSlot(request.scheduled_for);
    return next === undefined || retryAt < next ? retryAt : undefined;
  }
}

/** Past a lease's expiry before asking again, so clocks a few milliseconds apart agree it ran out. */
const LEASE_RETRY_SLACK_MS = 20;

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    if (signal.aborted) return done();
    const timer = setTimeout(finish, Math.max(0, ms));
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      done();
    }
    signal.addEventListener("abort", finish);
  });
}
