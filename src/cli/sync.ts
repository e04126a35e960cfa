import type { Command } from "commander";
import type { ServingObservation, SyncSource } from "../core/sync-plan.js";
import type { ApplyOptions, SyncPending, SyncReport } from "../integrations/sync-applier.js";
import { clientFrom } from "./client.js";
import { type EgressFlag, egressOption } from "./egress-flag.js";
import type { Io } from "./io.js";
import { type DatabaseFlag, databaseOption, durationFlag } from "./options.js";
import { type Progress, progressBar } from "./progress.js";
import { printSyncReport } from "./sync-report.js";

/** The flags every `tenure sync` source takes. */
export interface SyncFlags extends DatabaseFlag, EgressFlag {
  dryRun?: boolean;
  json?: boolean;
  /** Seconds between syncs; once when absent. */
  every?: number;
}

/** Adds the flags every source takes: --dry-run, --json, --every and --database. */
export function syncOptions(command: Command): Command {
  return databaseOption(
    egressOption(command)
      .option("--dry-run", "show what would change and change nothing")
      .option("--json", "print the report as JSON")
      .option(
        "--every <duration>",
        "sync again after each interval (5m, 1h) until stopped",
        durationFlag("--every"),
      ),
  );
}

/** What a source read from its system, for one round. */
export interface Observed {
  observations: ServingObservation[];
  /** Findings the source made itself: ghosts, version mismatches (given the live primaries to compare). */
  findings?: ApplyOptions["findings"];
  environments?: string[];
  zombieScope?: ApplyOptions["zombieScope"];
  /** Seen, not serving yet: rollouts in progress or stuck. */
  pending?: SyncPending[];
  notes?: string[];
}

export interface SyncRound {
  signal: AbortSignal;
  progress: Progress;
}

/**
 * When a source that follows its system (`tenure sync kubernetes --watch`) runs its next round:
 * instead of every `--every`, when the system says something changed.
 */
export interface SyncLoop {
  /** Resolves true when the next round is due, false once `signal` stops the sync. */
  next(signal: AbortSignal, lastRoundFailed: boolean): Promise<boolean>;
  /** When a failed round is tried again, for its message: `when the cluster changes`. */
  retry: string;
}

/**
 * Runs a source's sync once, or every `--every` until SIGINT or SIGTERM: reads the system,
 * registers what changed through the registry (the database, or the server at TENURE_URL) and
 * prints the report. Once, a refused registration fails the command (exit 1) after the report; on
 * a schedule (or following the system with `loop`), a round that fails is reported and the next
 * one tries again, as the lost webhook deliveries it reconciles would want.
 */
export async function runSync(
  io: Io,
  source: SyncSource,
  flags: SyncFlags,
  observe: (round: SyncRound) => Promise<Observed>,
  loop?: SyncLoop,
): Promise<void> {
  const client = await clientFrom(io.env, flags.database);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  const repeats = flags.every !== undefined || loop !== undefined;
  let failed = false;
  if (repeats) {
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  }
  try {
    do {
      const progress = await progressBar(io);
      let report: SyncReport;
      failed = false;
      try {
        const observed = await observe({ signal: stop.signal, progress });
        const { applySync } = await import("../integrations/sync-applier.js");
        report = await applySync(client, source, observed.observations, {
          dryRun: flags.dryRun === true,
          environments: observed.environments,
          findings: observed.findings,
          zombieScope: observed.zombieScope,
          pending: observed.pending,
          notes: observed.notes,
          now: Date.now,
          onRegistered: (done, total) => {
            if (done === 1) progress.start("registering", total);
            progress.update(done);
          },
        });
      } catch (error) {
        if (!repeats || stop.signal.aborted) throw error;
        const when = loop ? loop.retry : `in ${flags.every}s`;
        io.err(`tenure: ${source} sync failed, trying again ${when}: ${messageOf(error)}\n`);
        failed = true;
        continue;
      } finally {
        progress.stop();
      }
      printSyncReport(io, report, flags.json === true);
      if (!repeats && report.errors.length > 0) {
        throw new Error(
          `${report.errors.length} of ${report.errors.length + report.registered.length} registrations were refused`,
        );
      }
    } while (repeats && (await nextRound(loop, flags.every, stop.signal, failed)));
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await client.close();
  }
}

function nextRound(
  loop: SyncLoop | undefined,
  everySeconds: number | undefined,
  signal: AbortSignal,
  failed: boolean,
): Promise<boolean> {
  if (loop) return loop.next(signal, failed);
  return pause((everySeconds ?? 0) * 1000, signal);
}

/** Waits `ms`; resolves false at once when stopped. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const timer = setTimeout(() => resolve(true), ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
