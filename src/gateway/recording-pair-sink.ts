import type { PairSink } from "./shadow-mirror.js";
import type { ShadowPair } from "./traffic-report.js";

/** What records pairs: the registry's ShadowMonitor, when the gateway opened the database itself. */
export interface PairRecorder {
  recordPairs(pairs: ShadowPair[]): Promise<unknown>;
}

/** Batches waiting for the database at most; more are dropped and counted, never queued without bound. */
const MAX_QUEUED_BATCHES = 64;

/**
 * A PairSink that writes each batch straight to the registry's store, one batch at a time, for a
 * gateway that opened the database itself. (Through a registry server, pairs travel in the
 * traffic report instead.)
 */
export class RecordingPairSink implements PairSink {
  #chain: Promise<void> = Promise.resolve();
  #queued = 0;
  dropped = 0;

  constructor(
    private readonly recorder: PairRecorder,
    private readonly onError: (error: unknown) => void,
  ) {}

  addPairs(pairs: ShadowPair[]): void {
    if (this.#queued >= MAX_QUEUED_BATCHES) {
      this.dropped += pairs.length;
      return;
    }
    this.#queued++;
    this.#chain = this.#chain
      .then(() => this.recorder.recordPairs(pairs))
      .then(
        () => undefined,
        (error: unknown) => this.onError(error),
      )
      .finally(() => {
        this.#queued--;
      });
  }

  /** Resolves once every batch handed in so far is written (or failed). */
  drain(): Promise<void> {
    return this.#chain;
  }
}
