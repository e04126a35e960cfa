import type { SdkLogger } from "./tenure-sdk-options.js";

/** A Retry-After honoured at most this long: a misconfigured proxy must not silence a model server for days. */
const MAX_PAUSE_MS = 10 * 60_000;

/**
 * Whether Tenure takes the SDK's calls, as the SDK last saw it, and what it has told the model
 * server's logger about it: each change of state once, each refusal once, a pause that a
 * `Retry-After` asks for.
 */
export class Availability {
  private current: boolean | null = null;
  private pausedUntil = 0;
  private readonly warned = new Set<string>();

  constructor(
    private readonly options: {
      origin: string;
      maxBuffered: number;
      logger: SdkLogger | null;
      clock: () => number;
    },
  ) {}

  /** Whether Tenure took the last call; null before the first. */
  get state(): boolean | null {
    return this.current;
  }

  /** Tenure answered: say so if it had not, and report what was dropped meanwhile (metric points, feature rows, feedback). */
  answered(dropped: number[]): void {
    const logger = this.options.logger;
    if (this.current === false) logger?.info?.(`tenure: ${this.options.origin} is available again`);
    this.current = true;
    if (dropped.some((count) => count > 0)) {
      logger?.warn(
        `tenure: dropped ${describeCounts(dropped)} while Tenure could not take them (totals in stats())`,
      );
    }
  }

  /** Tenure did not answer, or answered that it cannot now; said once until it answers again. */
  unavailable(reason: string): void {
    if (this.current !== false) {
      this.options.logger?.warn(
        `tenure: ${this.options.origin} is unavailable (${reason}); buffering up to ${this.options.maxBuffered} of each kind`,
      );
    }
    this.current = false;
  }

  /** Holds every send until `retryAfterMs` from now has passed (bounded by MAX_PAUSE_MS). */
  pauseFor(retryAfterMs: number): void {
    const pause = Math.min(retryAfterMs, MAX_PAUSE_MS);
    this.pausedUntil = Math.max(this.pausedUntil, this.options.clock() + pause);
  }

  paused(): boolean {
    return this.pausedUntil > this.options.clock();
  }

  /** A record refused before it was queued: warned once per kind, since a handler that records a bad value does so on every request. */
  refused(kind: string, reason: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    this.options.logger?.warn(`tenure: ${reason}; not recorded (further ones are only counted in stats())`);
  }

  warnOnce(message: string): void {
    if (this.warned.has(message) || this.warned.size > 100) return;
    this.warned.add(message);
    this.options.logger?.warn(message);
  }
}

/** Counts of metric points, feature rows and feedback items, in words. */
export function describeCounts([metrics, rows, feedback]: number[]): string {
  return `${metrics ?? 0} metric points, ${rows ?? 0} feature rows and ${feedback ?? 0} feedback items`;
}
