import type { Command } from "commander";
import { formatDuration } from "../core/duration.js";
import type { SweepView } from "../lifecycle/lifecycle-view.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { shortTime, table } from "./format.js";
import { boundHeapGrowth } from "./heap.js";
import { configOf, type Io, printJson } from "./io.js";
import {
  type DatabaseFlag,
  databaseOption,
  type PoliciesFlag,
  policiesOption,
  positiveInt,
} from "./options.js";
import { progressBar, sweepProgress } from "./progress.js";
import type { SweepOutcome } from "./tenure-client.js";

interface SweepFlags extends DatabaseFlag, PoliciesFlag {
  at?: string;
  dryRun?: boolean;
  deliver: boolean;
  history?: boolean;
  limit: number;
  json?: boolean;
}

/** How long a local sweep waits for its notifications, retries included, before it leaves them queued. */
const LOCAL_DELIVERY_WAIT_MS = 30_000;

export function sweepCommand(program: Command, io: Io): void {
  policiesOption(
    databaseOption(
      program
        .command("sweep")
        .summary("run the sweep now: ages, findings, alerts (or --history for the log)")
        .option(
          "--at <iso>",
          "evaluate the fleet at this time instead of now: a past time replays for real, a future one is a preview",
        )
        .option("--dry-run", "a preview: show what the sweep would do, write nothing, send nothing")
        .option("--no-deliver", "without TENURE_URL: queue notifications, leave them to the server")
        .option("--history", "show the sweep log instead of sweeping")
        .option("--limit <n>", "with --history: this many sweeps", positiveInt("--limit", 500), 20)
        .option("--json", "print the sweep (or {items}) as JSON"),
    ),
  ).action(async (flags: SweepFlags) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { SweepBody } = await import("../lifecycle/sweep-input.js");
    const body = parseFlags(SweepBody, { at: flags.at, dry_run: flags.dryRun }, "the sweep is not valid");
    // Swept here rather than by a server, the whole fleet passes through this process.
    const config = await configOf(io);
    if (!config.url && !flags.history) boundHeapGrowth(config.heapGrowingPercent);
    const client = await clientFrom(io.env, flags.database, flags.policies);
    try {
      if (flags.history) {
        const page = await client.sweeps(flags.limit);
        if (flags.json) return printJson(io, page);
        if (page.items.length === 0) return io.out("no sweep has run yet\n");
        io.out(
          table(
            ["ID", "EVALUATED AT", "TRIGGER", "TOOK", "LIVE", "FRESH/DUE/EXPIRED", "FINDINGS", "STATE"],
            page.items.map(historyRow),
          ),
        );
        return;
      }
      if (!config.url && flags.deliver) io.err("sweeping…\n");
      // A local sweep passes the whole fleet through this process: on a terminal, a bar over it.
      const progress = config.url ? undefined : await progressBar(io);
      let outcome: SweepOutcome;
      try {
        // The bar needs the fleet's size: counted only when there is a bar to draw.
        const onProgress = progress?.active
          ? sweepProgress(progress, (await client.fleet()).live)
          : undefined;
        outcome = await client.sweep({
          ...body,
          deliverForMs: flags.deliver ? LOCAL_DELIVERY_WAIT_MS : undefined,
          onProgress,
        });
      } finally {
        progress?.stop();
      }
      const { sweep, delivery } = outcome;
      if (flags.json) return printJson(io, { ...sweep, delivery });
      io.out(`${summary(sweep)}\n`);
      if (delivery) {
        // Counts every notification this run delivered, earlier ones queued by other commands too.
        if (delivery.delivered) io.out(`${delivery.delivered} notification(s) delivered\n`);
        if (delivery.pending)
          io.out(`${delivery.pending} notification(s) still pending: a server (tenure serve) retries them\n`);
        if (delivery.failed) {
          io.out(
            `${delivery.failed} notification(s) failed for good: see tenure deliveries ls --state failed\n`,
          );
        }
      }
    } finally {
      await client.close();
    }
  });
}

function summary(s: SweepView): string {
  const findings = Object.entries(s.findings)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(", ");
  // A preview says so first: its counts are what a sweep would do, none of it done.
  const head = s.dry_run
    ? `preview of a sweep at ${shortTime(s.evaluated_at)} (nothing was written or sent)`
    : `sweep ${s.id} at ${shortTime(s.evaluated_at)}`;
  return (
    `${head}: ${s.deployments} live (${s.stages.fresh ?? 0} fresh, ${s.stages.due ?? 0} due, ${s.stages.expired ?? 0} expired)` +
    `${findings ? `; findings: ${findings}` : "; no findings"}` +
    `; alerts ${s.alerts_opened} opened, ${s.alerts_resolved} resolved; ${s.notifications} notification(s)` +
    `${s.promotions ? `; ${s.promotions} promotion(s)` : ""}` +
    `${s.retirements ? `; ${s.retirements} retired or rolled back on policy` : ""} in ${s.duration_ms ?? 0} ms`
  );
}

function historyRow(s: SweepView): string[] {
  return [
    String(s.id),
    shortTime(s.evaluated_at),
    s.trigger,
    s.duration_ms === null
      ? "-"
      : s.duration_ms < 1000
        ? `${s.duration_ms}ms`
        : formatDuration(s.duration_ms / 1000),
    String(s.deployments),
    `${s.stages.fresh ?? 0}/${s.stages.due ?? 0}/${s.stages.expired ?? 0}`,
    Object.entries(s.findings)
      .map(([k, n]) => `${k}:${n}`)
      .join(" ") || "-",
    s.state,
  ];
}
