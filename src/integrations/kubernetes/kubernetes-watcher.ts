import { backoffMs } from "../../alerts/dispatcher.js";
import { abortableSleep } from "../outbound-http.js";
import type { WatchEnd, WatchEvent, WorkloadList } from "./kubernetes-api.js";
import { WORKLOAD_KIND_NAMES, WORKLOAD_KINDS, type WorkloadKind } from "./kubernetes-workload.js";

/** What the watcher needs of the API: KubernetesApi, or a test's stand-in. */
export interface WorkloadSource {
  list(kind: WorkloadKind, signal: AbortSignal): Promise<WorkloadList | null>;
  watch(
    kind: WorkloadKind,
    resourceVersion: string,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<WatchEnd>;
}

/** Every labelled object of a cluster at one moment; the kinds the cluster does not serve. */
export interface ClusterSnapshot {
  objects: { kind: WorkloadKind; object: unknown }[];
  absent: WorkloadKind[];
}

/** Lists every kind once: a sync without `--watch`. */
export async function listWorkloads(source: WorkloadSource, signal: AbortSignal): Promise<ClusterSnapshot> {
  const snapshot: ClusterSnapshot = { objects: [], absent: [] };
  for (const kind of WORKLOAD_KIND_NAMES) {
    const list = await source.list(kind, signal);
    if (list === null) snapshot.absent.push(kind);
    else snapshot.objects.push(...list.items.map((object) => ({ kind, object })));
  }
  return snapshot;
}

export interface WatcherOptions {
  /** What of a snapshot matters to a sync: a round runs only when it changes. */
  fingerprint: (snapshot: ClusterSnapshot) => string;
  /** Quiet time after an event before a round runs: a rollout's burst of status updates is one round. */
  debounceMs?: number;
  /** A round at least this often, changes or not. */
  everyMs?: number;
  /** Told of lost watches and re-lists, in a sentence. */
  log: (line: string) => void;
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

interface KindState {
  listed: boolean;
  absent: boolean;
  following: boolean;
  resourceVersion: string;
  /** By namespace/name. */
  objects: Map<string, unknown>;
}

type Wake = "change" | "timeout" | "stop";

/**
 * Follows a cluster as an informer does: lists each kind, then watches it from the list's
 * resourceVersion, keeping every labelled object in memory. A watch the server closes is opened
 * again from the last resourceVersion seen (bookmarks keep it fresh); one that says the version
 * expired (410 Gone) lists the kind again; one that fails is opened again after a backoff with
 * jitter. Rounds read the objects held, not the API: `next` resolves when what a sync reads of
 * them has changed and the events have settled.
 */
export class WorkloadWatcher {
  private readonly kinds = new Map<WorkloadKind, KindState>(
    WORKLOAD_KIND_NAMES.map((k) => [
      k,
      { listed: false, absent: false, following: false, resourceVersion: "", objects: new Map() },
    ]),
  );
  /** Bumped by every change; a snapshot remembers the one it saw. */
  private changes = 0;
  private seenChanges = -1;
  private seenFingerprint = "";
  private failedRounds = 0;
  private wake: ((why: Wake) => void) | undefined;
  readonly retry = "when the cluster changes, or after a backoff";

  constructor(
    private readonly source: WorkloadSource,
    private readonly options: WatcherOptions,
  ) {}

  /**
   * The objects held now. A kind never listed is listed first (a failure throws, and the round
   * with it); from then on it is followed in the background until `signal` stops.
   */
  async snapshot(signal: AbortSignal): Promise<ClusterSnapshot> {
    for (const [kind, state] of this.kinds) {
      if (state.following || state.absent) continue;
      await this.relist(kind, state, signal);
      if (!state.absent) {
        state.following = true;
        void this.follow(kind, state, signal);
      }
    }
    const snapshot = this.current();
    this.seenChanges = this.changes;
    this.seenFingerprint = this.options.fingerprint(snapshot);
    return snapshot;
  }

  /**
   * Resolves true when the next round is due: what a sync reads has changed (and the events
   * settled), `everyMs` passed, or, after a failed round, its backoff; false once stopped.
   */
  async next(signal: AbortSignal, lastRoundFailed: boolean): Promise<boolean> {
    this.failedRounds = lastRoundFailed ? this.failedRounds + 1 : 0;
    const waits = [
      ...(lastRoundFailed ? [this.backoff(this.failedRounds)] : []),
      ...(this.options.everyMs === undefined ? [] : [this.options.everyMs]),
    ];
    const deadline = waits.length > 0 ? Date.now() + Math.min(...waits) : undefined;
    let changed = this.changes !== this.seenChanges;
    for (;;) {
      if (!changed) {
        const why = await this.wait(deadline, signal);
        if (why === "stop") return false;
        if (why === "timeout") return true;
      }
      changed = false;
      const settled = await this.settle(deadline, signal);
      if (settled === "stop") return false;
      if (settled === "timeout" || lastRoundFailed) return true;
      if (this.options.fingerprint(this.current()) !== this.seenFingerprint) return true;
    }
  }

  private current(): ClusterSnapshot {
    const snapshot: ClusterSnapshot = { objects: [], absent: [] };
    for (const [kind, state] of this.kinds) {
      if (state.absent) snapshot.absent.push(kind);
      else for (const object of state.objects.values()) snapshot.objects.push({ kind, object });
    }
    return snapshot;
  }

  /** Waits out a burst of events: until none came for `debounceMs`. */
  private async settle(deadline: number | undefined, signal: AbortSignal): Promise<Wake | "quiet"> {
    const quiet = this.options.debounceMs ?? 1000;
    for (;;) {
      const until = deadline === undefined ? Date.now() + quiet : Math.min(deadline, Date.now() + quiet);
      const why = await this.wait(until, signal);
      if (why === "stop") return "stop";
      if (why === "timeout") return deadline !== undefined && Date.now() >= deadline ? "timeout" : "quiet";
    }
  }

  /** Resolves at the next change, at `until`, or when stopped, whichever comes first. */
  private wait(until: number | undefined, signal: AbortSignal): Promise<Wake> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve("stop");
      const timer =
        until === undefined ? undefined : setTimeout(() => done("timeout"), Math.max(0, until - Date.now()));
      const onStop = () => done("stop");
      const done = (why: Wake) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onStop);
        this.wake = undefined;
        resolve(why);
      };
      signal.addEventListener("abort", onStop, { once: true });
      this.wake = done;
    });
  }

  private changed(): void {
    this.changes++;
    this.wake?.("change");
  }

  private async relist(kind: WorkloadKind, state: KindState, signal: AbortSignal): Promise<void> {
    const list = await this.source.list(kind, signal);
    state.objects = new Map();
    if (list === null) {
      state.absent = true;
    } else {
      for (const object of list.items) {
        const key = keyOf(object);
        if (key !== null) state.objects.set(key, object);
      }
      state.resourceVersion = list.resourceVersion;
    }
    state.listed = true;
    this.changed();
  }

  /** Watches one kind until stopped, listing it again whenever its resourceVersion expires. */
  private async follow(kind: WorkloadKind, state: KindState, signal: AbortSignal): Promise<void> {
    const { plural, optional } = WORKLOAD_KINDS[kind];
    let failures = 0;
    while (!signal.aborted) {
      const started = Date.now();
      let heard = false;
      try {
        if (!state.listed) await this.relist(kind, state, signal);
        if (state.absent) {
          this.options.log(`the cluster no longer serves ${plural}: not watched any more`);
          return;
        }
        const end = await this.source.watch(
          kind,
          state.resourceVersion,
          (event) => {
            heard = true;
            this.apply(state, event);
          },
          signal,
        );
        if (signal.aborted) return;
        if (end === "expired") {
          // 410 Gone: the server no longer has the history from that version; only a new list
          // tells what changed meanwhile (deletions included).
          state.listed = false;
          continue;
        }
        // A stream that ends at once without a word is a server that cannot hold one open:
        // backing off keeps the sync from hammering it.
        if (heard || Date.now() - started >= 1000) failures = 0;
        else {
          failures++;
          await this.sleep(this.backoff(failures), signal);
        }
      } catch (error) {
        if (signal.aborted) return;
        const status = (error as { status?: unknown }).status;
        if (status === 404 && optional) {
          state.absent = true;
          state.objects = new Map();
          this.changed();
          this.options.log(`the cluster no longer serves ${plural}: not watched any more`);
          return;
        }
        failures++;
        const delay = this.backoff(failures);
        const reason = error instanceof Error ? error.message : String(error);
        this.options.log(`watching ${plural} failed (${reason}); trying again in ${formatDelay(delay)}`);
        await this.sleep(delay, signal);
      }
    }
  }

  private apply(state: KindState, event: WatchEvent): void {
    const version = resourceVersionOf(event.object);
    if (version !== null) state.resourceVersion = version;
    if (event.type === "BOOKMARK") return;
    const key = keyOf(event.object);
    if (key === null) return;
    if (event.type === "DELETED") state.objects.delete(key);
    else state.objects.set(key, event.object);
    this.changed();
  }

  private backoff(attempt: number): number {
    return backoffMs(
      attempt,
      {
        max_attempts: Number.MAX_SAFE_INTEGER,
        base_delay_ms: this.options.baseDelayMs ?? 500,
        max_delay_ms: this.options.maxDelayMs ?? 30_000,
      },
      (this.options.random ?? Math.random)(),
    );
  }

  private sleep(ms: number, signal: AbortSignal): Promise<void> {
    return (this.options.sleep ?? abortableSleep)(ms, signal);
  }
}

function keyOf(object: unknown): string | null {
  const metadata = (object as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  if (typeof metadata?.name !== "string") return null;
  return `${typeof metadata.namespace === "string" ? metadata.namespace : ""}/${metadata.name}`;
}

function resourceVersionOf(object: unknown): string | null {
  const version = (object as { metadata?: { resourceVersion?: unknown } } | null)?.metadata?.resourceVersion;
  return typeof version === "string" && version !== "" ? version : null;
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)}s`;
}
