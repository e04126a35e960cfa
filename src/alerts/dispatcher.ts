import type { Logger } from "pino";
import { redactSecrets } from "../core/redact-secrets.js";
import { parseStoredJson } from "../store/json-columns.js";
import type { OutboxStore } from "../store/outbox-store.js";
import type { DeliveryRow } from "../store/schema.js";
import type { ChannelConfig } from "./channels/channel-config.js";
import { channelRequest, channelSecrets, channelTimeoutMs } from "./channels/index.js";
import { type SendResult, sendRequest } from "./channels/send.js";
import { Notification, type OutboundRequest } from "./notification.js";

export interface RetryPolicy {
  /** Attempts before a delivery is dead-lettered (state `failed`). */
  max_attempts: number;
  base_delay_ms: number;
  max_delay_ms: number;
}

/** 8 attempts over about 20 minutes: long enough to ride out a receiver's restart or a deploy. */
export const DEFAULT_RETRY: RetryPolicy = {
  max_attempts: 8,
  base_delay_ms: 5_000,
  max_delay_ms: 10 * 60_000,
};

export interface DrainResult {
  delivered: number;
  failed: number;
  pending: number;
}

export interface DispatcherOptions {
  outbox: OutboxStore;
  /** The channels in force (the policy file can be reloaded under us). */
  channels: () => Record<string, ChannelConfig>;
  /** Wall-clock epoch ms: retries wait in real time, even while a replay sweeps the past. */
  clock?: () => number;
  retry?: RetryPolicy;
  /** How often to look for due deliveries when nothing wakes the dispatcher. */
  poll_ms?: number;
  /** A claim's lease: a dispatcher that dies mid-send frees its deliveries after this long (default: 3× the slowest channel's timeout, at least 15 s). */
  lease_ms?: number;
  logger?: Logger;
  send?: (request: OutboundRequest, options: { timeoutMs: number; now: () => number }) => Promise<SendResult>;
  /**
   * Told of every attempt's outcome once recorded: `delivered`, `retry` (failed, tried again
   * later) or `failed` (dead-lettered). /metrics counts them per channel.
   */
  onAttempt?: (attempt: { channel: string; outcome: AttemptOutcome }) => void;
}

export type AttemptOutcome = "delivered" | "retry" | "failed";

/**
 * Delivers the outbox: claims due deliveries (a lease, so replicas and crashes can't deliver
 * one twice at once), sends each to its channel, records every attempt, and retries with
 * exponential backoff and full jitter, honouring Retry-After. After the last attempt a delivery
 * is dead-lettered and stays visible until `tenure deliveries retry`.
 *
 * Delivery is at least once: a process killed after a receiver answered but before the answer
 * was recorded sends again after its lease runs out. Receivers drop repeats by dedup_key
 * (PagerDuty) or by the Tenure-Delivery header (webhooks).
 */
export class Dispatcher {
  private readonly clock: () => number;
  private readonly retry: RetryPolicy;
  private readonly send: NonNullable<DispatcherOptions["send"]>;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;
  private readonly controller = new AbortController();
  private readonly counts = { delivered: 0, failed: 0 };

  constructor(private readonly options: DispatcherOptions) {
    this.clock = options.clock ?? Date.now;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.send = options.send ?? sendRequest;
  }

  /** Starts delivering in the background until `stop`. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Looks for due deliveries now rather than at the next poll. */
  wake(): void {
    this.wakeUp?.();
  }

  /** Stops after the attempts in flight are recorded. */
  async stop(): Promise<void> {
    this.controller.abort();
    this.wake();
    await this.loop;
  }

  /**
   * Delivers everything due now, then everything that becomes due within `waitMs` (retries
   * included). For a CLI sweep without a server: resolves with what was delivered, what failed
   * for good (dead-lettered) and what is still pending.
   */
  async drain(waitMs: number): Promise<DrainResult> {
    const deadline = this.clock() + waitMs;
    const before = { ...this.counts };
    const result = () => ({
      delivered: this.counts.delivered - before.delivered,
      failed: this.counts.failed - before.failed,
    });
    for (;;) {
      while ((await this.deliverDue()) > 0) {}
      const next = await this.options.outbox.nextDeliveryAt();
      if (next === undefined) return { ...result(), pending: 0 };
      const now = this.clock();
      if (next > deadline) return { ...result(), pending: await this.pendingCount() };
      await sleep(Math.max(10, next - now), this.controller.signal);
    }
  }

  /** Claims one batch of due deliveries and attempts each; resolves with how many it tried. */
  async deliverDue(): Promise<number> {
    const now = this.clock();
    const claimed = await this.options.outbox.claimDeliveries(
      now,
      this.options.lease_ms ?? this.leaseMs(),
      20,
    );
    await Promise.all(claimed.map((delivery) => this.attempt(delivery)));
    return claimed.length;
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    while (!signal.aborted) {
      try {
        while (!signal.aborted && (await this.deliverDue()) > 0) {}
      } catch (error) {
        this.options.logger?.error(
          { err: error },
          "delivering notifications failed; retrying at the next poll",
        );
      }
      const next = await this.options.outbox.nextDeliveryAt().catch(() => undefined);
      const poll = this.options.poll_ms ?? 5_000;
      const wait = next === undefined ? poll : Math.min(poll, Math.max(10, next - this.clock()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.wakeUp = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeUp = undefined;
    }
  }

  private async attempt(delivery: DeliveryRow): Promise<void> {
    const config = this.options.channels()[delivery.channel];
    const at = this.clock();
    const notification = storedNotification(delivery.notification);
    let result: SendResult;
    if (!config) {
      result = undeliverable(`channel ${delivery.channel} is no longer defined in the policy file`);
    } else if ("error" in notification) {
      result = undeliverable(notification.error);
    } else {
      const request = channelRequest(notification.value, config, delivery.id, at);
      result = await this.send(request, { timeoutMs: channelTimeoutMs(config), now: this.clock });
      // A receiver may quote the request in its error; the error is logged and shown by the API.
      if (result.error !== null)
        result = { ...result, error: redactSecrets(result.error, channelSecrets(config)) };
    }
    const attempts = delivery.attempts + 1;
    const attempt = {
      delivery_id: delivery.id,
      at,
      duration_ms: Math.round(result.duration_ms),
      status_code: result.status,
      error: result.error,
    };
    if (result.ok) {
      await this.options.outbox.recordAttempt(attempt, { state: "delivered" });
      this.counts.delivered++;
      this.options.onAttempt?.({ channel: delivery.channel, outcome: "delivered" });
      return;
    }
    if (!result.retry || attempts >= this.retry.max_attempts) {
      this.options.logger?.warn(
        { delivery: delivery.id, channel: delivery.channel, attempts, error: result.error },
        "a notification could not be delivered: dead-lettered (tenure deliveries retry)",
      );
      await this.options.outbox.recordAttempt(attempt, { state: "failed" });
      this.counts.failed++;
      this.options.onAttempt?.({ channel: delivery.channel, outcome: "failed" });
      return;
    }
    const backoff = backoffMs(attempts, this.retry, Math.random());
    const delay = Math.max(backoff, Math.min(result.retry_after_ms ?? 0, this.retry.max_delay_ms * 6));
    await this.options.outbox.recordAttempt(attempt, {
      state: "pending",
      next_attempt_at: this.clock() + delay,
    });
    this.options.onAttempt?.({ channel: delivery.channel, outcome: "retry" });
  }

  /**
   * A lease outlasts the slowest channel's timeout with room to record the attempt, so a live
   * dispatcher never loses its claim mid-send; a dead one's claims free up soon after.
   */
  private leaseMs(): number {
    const timeouts = Object.values(this.options.channels()).map(channelTimeoutMs);
    return Math.max(15_000, 3 * Math.max(0, ...timeouts));
  }

  private async pendingCount(): Promise<number> {
    return (await this.options.outbox.listDeliveries({ state: "pending", limit: 10_000 })).length;
  }
}

/**
 * The notification as the outbox stored it. One that does not fit its schema (written by hand or
 * by another version) is dead-lettered at once with the reason, naming the column: a later
 * attempt cannot fix it, and a TypeError in a channel would fail the whole batch at every poll.
 */
function storedNotification(text: string): { value: Notification } | { error: string } {
  try {
    return { value: parseStoredJson("notification", Notification, text) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

/** A failure that no retry can fix: the delivery is dead-lettered after this attempt. */
function undeliverable(error: string): SendResult {
  return { ok: false, status: null, error, retry: false, retry_after_ms: null, duration_ms: 0 };
}

/**
 * Exponential backoff with "full jitter" (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"): a random delay up to base·2^(n−1), capped, so that many deliveries failing together
 * (a receiver's outage) do not retry together. Never below a tenth of the base.
 */
export function backoffMs(attempts: number, retry: RetryPolicy, random: number): number {
  const ceiling = Math.min(retry.max_delay_ms, retry.base_delay_ms * 2 ** Math.min(30, attempts - 1));
  return Math.max(retry.base_delay_ms / 10, Math.floor(random * ceiling));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
