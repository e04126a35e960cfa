import { BoundedQueue } from "./bounded-queue.js";

/** What became of one batch: accepted, worth another try later, or refused for good. */
export type BatchOutcome = "sent" | "retry" | "rejected";

export interface BatcherOptions<T> {
  /** Items held at most; past it the oldest are dropped and counted. */
  capacity: number;
  /** Items a request carries at most. */
  batchSize: number;
  /** Whether an item may ride in the same request as the batch's first (samples: the same UTC day). */
  together?: (first: T, item: T) => boolean;
  /** Whether a batch may go now (its deployment is known, Tenure asked for no pause). */
  ready(): boolean;
  /** Sends one batch. Must not throw: the outcome says what happened. */
  send(items: T[], signal: AbortSignal): Promise<BatchOutcome>;
}

/** The counts of one kind of item, for `stats()`. */
export interface BatchCounts {
  /** Waiting to be sent. */
  buffered: number;
  /** Accepted by Tenure. */
  sent: number;
  /** Dropped unsent: the buffer was full, or the SDK closed before they could go. */
  dropped: number;
  /** Refused, by the SDK's own checks or by Tenure (a 4xx other than 408 and 429). */
  rejected: number;
}

/**
 * Holds one kind of item (metric points, feature rows, feedback) and sends it in batches, one
 * request at a time: when a batch fills, on the SDK's interval, and on close. A batch that could
 * not go is put back at the front, so nothing is lost while there is room, and memory stays
 * bounded when there is not.
 */
export class Batcher<T> {
  private readonly queue: BoundedQueue<T>;
  private running: Promise<void> | null = null;
  private sent = 0;
  private dropped = 0;
  private rejected = 0;
  private unreported = 0;

  constructor(private readonly options: BatcherOptions<T>) {
    this.queue = new BoundedQueue(options.capacity);
  }

  /** Queues an item; a full batch starts a send of full batches (unless one is under way). */
  add(item: T, signal: AbortSignal): void {
    this.drop(this.queue.push(item));
    if (this.queue.size >= this.options.batchSize) this.kick(signal, false);
  }

  /** Counts items refused before they were queued (they failed the SDK's own checks). */
  refuse(count: number): void {
    this.rejected += count;
  }

  /** Counts items that came too late to be queued (after close) as dropped. */
  lose(count: number): void {
    this.drop(count);
  }

  /**
   * Starts sending what is queued (with `all` false, only full batches), unless a send is under
   * way or the batch may not go yet.
   */
  kick(signal: AbortSignal, all = true): void {
    if (this.running !== null || this.queue.size === 0 || !this.options.ready() || signal.aborted) return;
    this.running = this.drain(signal, all ? 1 : this.options.batchSize).finally(() => {
      this.running = null;
    });
  }

  /** Sends everything queued that may go, waiting for a send under way first. */
  async flush(signal: AbortSignal): Promise<void> {
    while (this.running !== null) await this.running;
    this.kick(signal);
    while (this.running !== null) await this.running;
  }

  /** Empties the queue at close, counting what it held as dropped. */
  discard(): void {
    this.drop(this.queue.clear());
  }

  /** Dropped since the last call, for a report once Tenure answers again. */
  takeUnreported(): number {
    const count = this.unreported;
    this.unreported = 0;
    return count;
  }

  counts(): BatchCounts {
    return { buffered: this.queue.size, sent: this.sent, dropped: this.dropped, rejected: this.rejected };
  }

  /** Sends batches while at least `least` items are queued. */
  private async drain(signal: AbortSignal, least: number): Promise<void> {
    while (this.queue.size >= least && this.options.ready() && !signal.aborted) {
      const batch = this.queue.take(this.options.batchSize, this.options.together);
      let outcome: BatchOutcome;
      try {
        outcome = await this.options.send(batch, signal);
      } catch {
        // A send that throws broke its promise; the batch is kept as if Tenure had not answered.
        outcome = "retry";
      }
      if (outcome === "sent") this.sent += batch.length;
      else if (outcome === "rejected") this.rejected += batch.length;
      else {
        this.drop(this.queue.putBack(batch));
        return;
      }
    }
  }

  private drop(count: number): void {
    this.dropped += count;
    this.unreported += count;
  }
}
