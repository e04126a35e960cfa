/** Each item's outcome of a batch: its value, or the expected (domain) error it was refused with. */
export type Outcome<O> = { ok: true; value: O } | { ok: false; error: unknown };

export interface WriteBatcherOptions<I, O> {
  /**
   * Runs many items in one transaction. An item refused with a domain error must have written
   * nothing, so the others can commit; any other error aborts the whole batch.
   */
  runBatch(items: I[]): Promise<Outcome<O>[]>;
  /** Runs one item in a transaction of its own: the fallback when a batch fails. */
  runOne(item: I): Promise<O>;
  /** Items per transaction at most. */
  maxBatch: number;
  /** Transactions in flight at once: 1 for SQLite's single writer, more for PostgreSQL. */
  concurrency: number;
  /**
   * Items a batch needs to start while another is in flight (1). A transaction costs its round
   * trips whatever its size: one started for the first item or two that came in would hold a
   * slot as long as a full one, so they wait for the next free slot with whatever follows them.
   */
  minBatchWhileBusy?: number;
}

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * Group commit: writes that arrive while a transaction is in flight wait and then commit
 * together in the next one. A commit costs far more than the statements of one registration
 * (the WAL write and, on PostgreSQL, the flush), so under load this multiplies throughput while
 * a lone request still commits at once. Beside a batch in flight, another starts only once it is
 * worth a transaction (minBatchWhileBusy). A batch that fails for a reason other than an item's
 * own refusal is replayed item by item, so one bad item never fails its neighbours.
 */
export class WriteBatcher<I, O> {
  private readonly queue: Pending<I, O>[] = [];
  private running = 0;
  private scheduled = false;

  constructor(private readonly options: WriteBatcherOptions<I, O>) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Starts batches on the next turn of the event loop rather than at once: better-sqlite3
   * answers synchronously, so a batch started here would run to its commit in microtasks before
   * Node reads the requests already waiting on other sockets, and every batch would hold one.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const { concurrency, minBatchWhileBusy = 1 } = this.options;
    while (
      this.running < concurrency &&
      this.queue.length >= (this.running === 0 ? 1 : Math.min(minBatchWhileBusy, this.options.maxBatch))
    ) {
      const batch = this.queue.splice(0, this.options.maxBatch);
      this.running++;
      void this.flush(batch).finally(() => {
        this.running--;
        this.schedule();
      });
    }
  }

  private async flush(batch: Pending<I, O>[]): Promise<void> {
    let outcomes: Outcome<O>[];
    try {
      outcomes = await this.options.runBatch(batch.map((p) => p.item));
    } catch {
      // Nothing of the batch was committed: each item gets a transaction (and retries) of its own.
      await Promise.all(batch.map((p) => this.options.runOne(p.item).then(p.resolve, p.reject)));
      return;
    }
    batch.forEach((p, i) => {
      const outcome = outcomes[i];
      if (outcome?.ok) p.resolve(outcome.value);
      else p.reject(outcome ? outcome.error : new Error("the batch returned no outcome for an item"));
    });
  }
}
