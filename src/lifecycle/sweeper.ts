import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Incidents } from "../alerts/incidents.js";
import { ConflictError, SweepFailedError } from "../core/errors.js";
import type { AuditVia } from "../registry/actor.js";
import type { Registry } from "../registry/registry.js";
import type { Lease } from "../store/lease-store.js";
import type { DeploymentRow, SweepRow } from "../store/schema.js";
import type { Stores } from "../store/stores.js";
import type { SweepTotals } from "../store/sweep-store.js";
import type { TtlLearner } from "./learned-ttls.js";
import { toSweepView } from "./lifecycle-view.js";
import { previewSupersessions } from "./promotion-totals.js";
import { sweepBatch } from "./sweep-batch.js";
import { newPass, type Pass } from "./sweep-pass.js";
import { previewPromotions, promoteDue } from "./sweep-promotions.js";

export interface SweepRequest {
  /**
   * The evaluation time; now when absent. A replay passes its own (`tenure sweep --at`): in the
   * past, a real sweep; after the clock, always a preview.
   */
  at?: number;
  /** A preview: the sweep's evaluation and counts, with nothing written and nothing sent. */
  dry_run?: boolean;
  trigger: "schedule" | "startup" | "manual" | "promotion";
  actor: string;
  /** Where the sweep was asked for, for its audit row; Tenure's own schedule (`system`) when absent. */
  via?: AuditVia;
  /** The cron slot a scheduled sweep stands for: claimed once, across replicas and restarts. */
  scheduled_for?: number;
  /** Told after each batch how many live deployments the pass has read so far (a progress bar). */
  onProgress?: (read: number) => void;
}

export interface SweeperOptions {
  stores: Stores;
  registry: Registry;
  incidents: Incidents;
  clock: () => number;
  /** Live deployments read per page: memory stays flat whatever the fleet's size. */
  pageSize?: number;
  /**
   * Deployments of a page judged and written together (their alerts read, planned, opened in
   * one transaction): what a batch holds lives while its alerts and notifications are written.
   * Each batch costs two alert reads, round trips on PostgreSQL: smaller batches save no memory
   * on SQLite and slow PostgreSQL's sweep (see BENCHMARKS.md).
   */
  batchSize?: number;
  /** Called after a sweep that queued notifications, so the dispatcher need not wait to poll. */
  onNotifications?: () => void;
  /** Where evidence that could not be judged is reported (the server's log). */
  logger?: Pick<Logger, "warn">;
  /** Told when a sweep this process ran ends, done or failed (not previews): /metrics counts them. */
  onEnded?: (ended: SweepEnded) => void;
  /**
   * How long the sweep lease lasts unless renewed (30 s); renewed every third of that while a
   * sweep runs. A process killed mid-sweep blocks others' sweeps for at most this long.
   */
  leaseMs?: number;
  /** Who this process is in the lease table; host, process id and a random part when absent. */
  holder?: string;
  /** Learns the TTLs of `max_age: auto` policies before the deployments are judged by them. */
  learner?: Pick<TtlLearner, "learn">;
}

/** The lease every sweep holds while it runs, whichever process runs it. */
export const SWEEP_LEASE = "sweep";

/** Another process holds the sweep lease: it is sweeping, or died sweeping and its lease runs out at `expires_at`. */
export class SweepLeaseHeldError extends ConflictError {
  constructor(readonly expires_at: number) {
    super(
      `another sweep is running (its lease runs until ${new Date(expires_at).toISOString()}); try again when it ends`,
    );
  }
}

/** The sweep lease was taken over while this sweep ran: its remaining writes are refused. */
export class SweepLeaseLostError extends Error {
  override name = "SweepLeaseLostError";
  constructor() {
    super("the sweep lease was taken over by another process (this one stalled past its expiry)");
  }
}

/** A sweep that ended in this process: how, when, and after how long (by the sweeper's clock). */
export interface SweepEnded {
  state: "done" | "failed";
  finished_at: number;
  duration_ms: number;
}

/** A sweep as it ran and was logged, or a preview, which is not logged and so has no id. */
export type SweepRecord =
  | (SweepRow & { dry_run: false })
  | (Omit<SweepRow, "id"> & { id: null; dry_run: true });

/**
 * The heartbeat: one pass over every live deployment that computes its clocks, stage and
 * findings under its policy, turns findings into alerts (opened, repeated, resolved), carries
 * out scheduled promotions and policy retirements, and logs the pass.
 */
export class Sweeper {
  private readonly stores: Stores;
  private readonly pageSize: number;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly holder: string;

  constructor(private readonly options: SweeperOptions) {
    this.stores = options.stores;
    this.pageSize = options.pageSize ?? 1000;
    this.batchSize = options.batchSize ?? 500;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.holder = options.holder ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  }

  /**
   * Runs a sweep; a ConflictError when another is running (here or in another process). A
   * preview (asked for, or dated after the clock) claims nothing and runs beside any sweep.
   */
  async run(request: SweepRequest): Promise<SweepRecord> {
    const started = this.options.clock();
    const at = request.at ?? started;
    // A sweep dated after now would open alerts, send notifications and write events dated in
    // the future, out of order with what is written meanwhile: it can only be a preview.
    if (request.dry_run || at > started) return this.preview(request, at, started);
    const lease = await this.stores.leases.acquire(SWEEP_LEASE, this.holder, started, this.leaseMs);
    if (!lease) {
      const current = await this.stores.leases.current(SWEEP_LEASE);
      throw new SweepLeaseHeldError(current?.expires_at ?? started + this.leaseMs);
    }
    const renewal = this.keepRenewed(lease);
    try {
      return await this.runHolding(request, lease, at, started);
    } finally {
      clearInterval(renewal);
      await this.stores.leases.release(lease).catch(() => {});
    }
  }

  /** Renews the lease every third of its length, so a stalled renewal or two do not lose it. */
  private keepRenewed(lease: Lease): NodeJS.Timeout {
    const timer = setInterval(
      () => {
        this.stores.leases.renew(lease, this.options.clock(), this.leaseMs).then(
          (renewed) => {
            if (!renewed) this.options.logger?.warn({ lease }, "the sweep lease was taken over");
          },
          (error: unknown) =>
            this.options.logger?.warn({ err: error }, "the sweep lease could not be renewed"),
        );
      },
      Math.max(100, Math.floor(this.leaseMs / 3)),
    );
    timer.unref();
    return timer;
  }

  private async runHolding(
    request: SweepRequest,
    lease: Lease,
    at: number,
    started: number,
  ): Promise<SweepRecord> {
    // Holding the lease, any sweep still marked running is one whose process died or lost it.
    const claimed = await this.stores.sweeps.claimSweep({
      trigger: request.trigger,
      actor: request.actor,
      evaluated_at: at,
      scheduled_for: request.scheduled_for ?? null,
      started_at: started,
    });
    if (!claimed) {
      throw new ConflictError(
        `the scheduled sweep for ${new Date(request.scheduled_for ?? at).toISOString()} has run already`,
      );
    }
    // Each transaction of alert writes checks the fencing token first: a process that stalled
    // past its lease (a long GC pause, a frozen VM) cannot open or notify after its successor.
    const fence = async (tx: Stores) => {
      if (!(await tx.leases.holds(lease))) throw new SweepLeaseLostError();
    };
    try {
      const totals = await this.sweep(newPass(this.stores, at, false, request.onProgress, fence));
      const finished = this.options.clock();
      const row = await this.stores.transaction(async (tx) => {
        await fence(tx);
        const row = await tx.sweeps.finishSweep(claimed.id, {
          ...totals,
          finished_at: finished,
          duration_ms: finished - started,
        });
        // The pass as a whole, with its outcome as `after`; what it changed on its own (promotions,
        // retirements) has a row each, written in that change's transaction.
        const actor = { name: request.actor, key_scope: request.actor, team: null, via: request.via };
        const after = toSweepView(row);
        await this.options.registry.audit.recordIn(tx, actor, "sweep.run", null, null, after);
        return row;
      });
      if (totals.notifications > 0) this.options.onNotifications?.();
      this.options.onEnded?.({ state: "done", finished_at: finished, duration_ms: finished - started });
      return { ...row, dry_run: false };
    } catch (error) {
      const failed = this.options.clock();
      await this.stores.sweeps.failSweep(claimed.id, failed, String(error)).catch(() => {});
      this.options.onEnded?.({ state: "failed", finished_at: failed, duration_ms: failed - started });
      // A refusal (ConflictError) is the caller's to hear as it is; a fault says which sweep it broke.
      if (error instanceof ConflictError) throw error;
      throw new SweepFailedError(claimed.id, error);
    }
  }

  /** The same pass as a sweep, with every write left out and counted instead; nothing logged. */
  private async preview(request: SweepRequest, at: number, started: number): Promise<SweepRecord> {
    const totals = await this.sweep(newPass(this.stores, at, true, request.onProgress));
    const finished = this.options.clock();
    return {
      id: null,
      dry_run: true,
      state: "done",
      trigger: request.trigger,
      actor: request.actor,
      evaluated_at: at,
      scheduled_for: request.scheduled_for ?? null,
      started_at: started,
      finished_at: finished,
      duration_ms: finished - started,
      ...totals,
      stages: JSON.stringify(totals.stages),
      findings: JSON.stringify(totals.findings),
      error: null,
    };
  }

  private async sweep(pass: Pass): Promise<Omit<SweepTotals, "finished_at" | "duration_ms">> {
    const { at, totals } = pass;
    const { stores, registry } = this.options;
    const promoted = pass.dryRun ? await previewPromotions(stores, pass) : { count: 0, live: [] };
    const promotions = pass.dryRun ? promoted.count : await promoteDue(stores, registry, pass);
    if (pass.dryRun) await previewSupersessions(this.options, pass);
    // Learned first, so this pass judges every deployment by the TTL it just learned (a preview
    // too: by those it would learn, held in memory), from the curves its forecasts then reuse.
    const learning = await this.options.learner?.learn(at, pass.dryRun, pass.fence, pass.decays);
    const policyOf = learning?.policyOf ?? ((row: DeploymentRow) => registry.policyOf(row));
    // A first sweep opens an alert for most deployments and writes several times the page's
    // size in alerts and notifications. Judged and written a page at a time, a page outlived
    // that burst: V8 moved its rows and findings to the old generation (and, learning from it,
    // allocated later sweeps' findings there directly), whose garbage then grew to four times the
    // live heap between full GCs. So a page is judged and written in batches, each batch's rows
    // let go once written. The next page is read as the last batch starts where reads run in the
    // background (PostgreSQL), overlapping that batch's work; on SQLite, whose reads block, only
    // after it: read early, it would gain nothing and live on through young-generation GCs into
    // the old one, which cost a steady sweep an eighth more work (BENCHMARKS.md, session 11).
    const early = this.stores.traits.backgroundReads;
    let next: Promise<DeploymentRow[]> | undefined = this.stores.deployments.liveDeployments(
      0,
      this.pageSize,
    );
    while (next) {
      const rows = await next;
      next = undefined;
      const last = rows.at(-1)?.id ?? 0;
      const more = rows.length === this.pageSize;
      while (rows.length > 0) {
        const batch = rows.splice(0, this.batchSize);
        if (rows.length === 0 && more && early) {
          next = this.stores.deployments.liveDeployments(last, this.pageSize);
          // Awaited at the next turn; until then a failure must not surface as unhandled.
          next.catch(() => {});
        }
        await sweepBatch(this.options, batch, pass, policyOf);
        pass.read(batch.length);
        if (rows.length === 0 && more && !early)
          next = this.stores.deployments.liveDeployments(last, this.pageSize);
      }
    }
    // A preview judges the deployments its promotions would have made live, as a sweep does.
    for (let i = 0; i < promoted.live.length; i += this.batchSize) {
      await sweepBatch(this.options, promoted.live.slice(i, i + this.batchSize), pass, policyOf);
    }
    await this.resolveEnded(pass);
    return { ...totals, promotions };
  }

  /** Open alerts of deployments that ended (superseded, retired, rolled back) resolve with them. */
  private async resolveEnded(pass: Pass): Promise<void> {
    const { at, totals } = pass;
    // Paged by id: a preview resolves nothing, so the same page would come back.
    for (let after = 0; ; ) {
      const alerts = await this.stores.alerts.openAlertsOfEndedDeployments(500, after);
      if (alerts.length === 0) return;
      const ended = await this.stores.deployments.findDeployments([
        ...new Set(alerts.map((a) => a.deployment_id)),
      ]);
      const rows = new Map(ended.map((r) => [r.id, r]));
      for (const status of new Set(alerts.map((a) => a.status))) {
        const items = alerts
          .filter((a) => a.status === status && rows.has(a.deployment_id))
          .map((alert) => ({ alert, row: rows.get(alert.deployment_id) as DeploymentRow }));
        await pass.alertWrites(async (tx) => {
          const change = await this.options.incidents.resolve(tx, items, at, status);
          totals.alerts_resolved += change.alerts;
          totals.notifications += change.notifications;
        });
      }
      if (alerts.length < 500) return;
      after = alerts.at(-1)?.id ?? after;
    }
  }
}
