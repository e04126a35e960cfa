import { hostname } from "node:os";
import type { Logger } from "pino";
import type { ChannelConfig } from "../alerts/channels/channel-config.js";
import { type Digest, digestRequest } from "../alerts/channels/digest.js";
import { channelSecrets, channelTimeoutMs } from "../alerts/channels/index.js";
import { type SendOptions, type SendResult, sendRequest } from "../alerts/channels/send.js";
import { backoffMs, type RetryPolicy } from "../alerts/dispatcher.js";
import type { OutboundRequest } from "../alerts/notification.js";
import { redactSecrets } from "../core/redact-secrets.js";
import type { RotReport } from "../core/rot-report.js";
import type { EgressPolicy } from "../egress-policy.js";
import type { Stores } from "../store/stores.js";
import { type DigestSchedule, digestCron, slotsAtOrBefore } from "./digest-schedule.js";

/** The lease that lets one replica at a time send digests. */
export const DIGEST_LEASE = "report-digest";

/** A sender's lease: long enough for every team's digest on slow channels; freed as soon as it is done. */
const LEASE_MS = 5 * 60_000;

/** setTimeout holds at most 2^31−1 ms; waking hourly also notices a policy file reloaded meanwhile. */
const MAX_SLEEP_MS = 3_600_000;

/** Five attempts over about ten minutes, then the slot's digest to that channel is given up. */
const DIGEST_RETRY: RetryPolicy = { max_attempts: 5, base_delay_ms: 30_000, max_delay_ms: 5 * 60_000 };

export interface DigestSchedulerOptions {
  stores: Pick<Stores, "digests" | "leases">;
  /** The schedule and channels in force (the policy file can be reloaded under us). */
  schedule: () => DigestSchedule | null;
  channels: () => Record<string, ChannelConfig>;
  /** Every team's rot report over the last `since` seconds. */
  report: (since: number) => Promise<RotReport>;
  /** The base of the digest's link back to the report. */
  publicUrl: string;
  clock?: () => number;
  /**
   * Real time, for what the receiver checks against its own clock (a webhook's signed time) and
   * for timing attempts: Date.now unless a test says otherwise; `clock` may be a replay's or a test's.
   */
  wallClock?: () => number;
  egress?: EgressPolicy;
  send?: (request: OutboundRequest, options: SendOptions) => Promise<SendResult>;
  retry?: RetryPolicy;
  logger?: Logger;
}

/** What one pass did: digests sent, attempts that failed (to be retried or given up), and why it stopped early. */
export interface DigestPass {
  slot: string | null;
  sent: number;
  failed: number;
  /** Digests owed whose next attempt is not due yet. */
  waiting: number;
  /** Another replica holds the lease, or no schedule is set. */
  skipped: "no_schedule" | "no_slot" | "lease_held" | null;
}

/**
 * Sends each team's rot report to the policy file's `report` channels at every slot of its
 * schedule. The latest slot at or before now is the one owed: a server started after a slot it
 * missed sends it at start; older missed slots are not sent (the latest covers the period). What
 * was sent is recorded per team, channel and slot (report_digests), so a restart does not send a
 * slot again; a lease lets one replica of several send. Delivery is at least once: a process
 * killed between a receiver's answer and the record sends that one digest again.
 */
export class DigestScheduler {
  private readonly clock: () => number;
  private readonly holder = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 10)}`;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DigestSchedulerOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** Sends what is owed now, in the background, then keeps the schedule. */
  start(): void {
    this.wake();
  }

  /** Resolves once the pass in flight (if any) is done: what a test waits for. */
  async settled(): Promise<void> {
    await this.running.catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.settled();
  }

  /** One pass now: sends each team's digest of the latest slot that is not sent yet. */
  runDue(): Promise<DigestPass> {
    const pass = this.running.catch(() => undefined).then(() => this.pass());
    this.running = pass;
    return pass;
  }

  private wake(): void {
    if (this.stopped) return;
    this.runDue()
      .catch((error: unknown) => {
        this.options.logger?.error(
          { err: error },
          "sending the rot report's digests failed; the next wake tries again",
        );
        return undefined;
      })
      .then((pass) => this.arm(pass));
  }

  private arm(pass: DigestPass | undefined): void {
    if (this.stopped) return;
    const now = this.clock();
    const schedule = this.options.schedule();
    const cron = schedule ? digestCron(schedule.every, schedule.timezone) : undefined;
    const next = cron && "cron" in cron ? cron.cron.nextRun(new Date(now))?.getTime() : undefined;
    // A failed attempt, or a lease another replica holds, is looked at again soon.
    const soon =
      pass && (pass.failed > 0 || pass.waiting > 0 || pass.skipped === "lease_held")
        ? now + DIGEST_RETRY.base_delay_ms
        : Infinity;
    const delay = Math.min(MAX_SLEEP_MS, Math.max(0, Math.min(next ?? Infinity, soon) - now));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  private async pass(): Promise<DigestPass> {
    const now = this.clock();
    const schedule = this.options.schedule();
    if (!schedule) return { slot: null, sent: 0, failed: 0, waiting: 0, skipped: "no_schedule" };
    const cron = digestCron(schedule.every, schedule.timezone);
    const slots = "cron" in cron ? slotsAtOrBefore(cron.cron, now) : undefined;
    if (!slots) return { slot: null, sent: 0, failed: 0, waiting: 0, skipped: "no_slot" };
    const slot = slots.slot;
    const lease = await this.options.stores.leases.acquire(DIGEST_LEASE, this.holder, now, LEASE_MS);
    if (!lease)
      return { slot: new Date(slot).toISOString(), sent: 0, failed: 0, waiting: 0, skipped: "lease_held" };
    try {
      return await this.sendSlot(schedule, slot, slots.previous);
    } finally {
      await this.options.stores.leases.release(lease);
    }
  }

  private async sendSlot(
    schedule: DigestSchedule,
    slot: number,
    previous: number | undefined,
  ): Promise<DigestPass> {
    const { stores } = this.options;
    const done = new Map(
      (await stores.digests.slotDigests(slot)).map((row) => [`${row.owner_team}\u0000${row.channel}`, row]),
    );
    // The period: the policy file's `since`, else the time since the previous slot (a week for a weekly digest).
    const since =
      schedule.since_seconds ?? Math.max(1, Math.round((slot - (previous ?? slot - 7 * 86_400_000)) / 1000));
    const report = await this.options.report(since);
    const outcome: DigestPass = {
      slot: new Date(slot).toISOString(),
      sent: 0,
      failed: 0,
      waiting: 0,
      skipped: null,
    };
    for (const team of report.teams) {
      for (const channel of schedule.teams[team.owner_team] ?? schedule.notify) {
        const row = done.get(`${team.owner_team}\u0000${channel}`);
        if (row && row.state !== "pending") continue;
        if (row && (row.next_attempt_at ?? 0) > this.clock()) {
          outcome.waiting++;
          continue;
        }
        const digest: Digest = {
          report: { ...report, teams: [team] },
          team,
          link: new URL(
            `/v1/report?owner_team=${encodeURIComponent(team.owner_team)}`,
            this.options.publicUrl,
          ).toString(),
          id: `${team.owner_team}/${channel}/${new Date(slot).toISOString()}`,
        };
        const ok = await this.deliver(digest, channel, slot, row?.attempts ?? 0);
        if (ok) outcome.sent++;
        else outcome.failed++;
      }
    }
    this.options.logger?.info(outcome, "rot report digests sent");
    return outcome;
  }

  private async deliver(digest: Digest, channel: string, slot: number, attempts: number): Promise<boolean> {
    const config = this.options.channels()[channel];
    const wall = this.options.wallClock ?? Date.now;
    const request = config ? digestRequest(digest, config, Math.floor(wall() / 1000)) : undefined;
    let result: SendResult;
    if (!config || !request) {
      const why = config
        ? `channel ${channel} takes no digest (${config.type})`
        : `channel ${channel} is no longer defined`;
      result = { ok: false, status: null, error: why, retry: false, retry_after_ms: null, duration_ms: 0 };
    } else {
      result = await (this.options.send ?? sendRequest)(request, {
        timeoutMs: channelTimeoutMs(config),
        now: wall,
        ...(this.options.egress ? { egress: this.options.egress } : {}),
      });
    }
    const error =
      result.error === null || !config ? result.error : redactSecrets(result.error, channelSecrets(config));
    const tries = attempts + 1;
    const retry = this.options.retry ?? DIGEST_RETRY;
    const giveUp = !result.ok && (!result.retry || tries >= retry.max_attempts);
    const key = { owner_team: digest.team.owner_team, channel, slot };
    await this.options.stores.digests.record(key, {
      state: result.ok ? "sent" : giveUp ? "failed" : "pending",
      attempts: tries,
      next_attempt_at: result.ok || giveUp ? null : this.clock() + backoffMs(tries, retry, Math.random()),
      last_error: error,
      updated_at: this.clock(),
      sent_at: result.ok ? this.clock() : null,
    });
    if (!result.ok)
      this.options.logger?.warn(
        { ...key, attempts: tries, error, given_up: giveUp },
        "a rot report digest was not delivered",
      );
    return result.ok;
  }
}
