import { formatBytes } from "./format.js";
import type { Io } from "./io.js";
import { showsProgress } from "./output-mode.js";

/** A progress bar on stderr for work over many items, or nothing at all where it cannot redraw. */
export interface Progress {
  /** Whether it draws: work done only for the bar (counting a fleet first) is skipped when not. */
  readonly active: boolean;
  /** Starts (or restarts, for a next phase) at 0 of `total`, named `label`. */
  start(label: string, total: number): void;
  increment(by?: number): void;
  update(value: number): void;
  setTotal(total: number): void;
  /** Clears the bar, so that stderr keeps only what the command says. */
  stop(): void;
}

const QUIET: Progress = { active: false, start() {}, increment() {}, update() {}, setTotal() {}, stop() {} };

/**
 * A bar for `io`'s stderr when it is a terminal (see `showsProgress`); in a pipe, a file or a
 * test, a bar that draws nothing, so a command's output there is only what it prints.
 * `bytes` shows the counts as sizes (`12.0 MiB/40.0 MiB`).
 */
export async function progressBar(io: Io, units: "count" | "bytes" = "count"): Promise<Progress> {
  const stream = io.progressStream;
  if (!stream || !showsProgress(io.env, io.terminal?.err === true)) return QUIET;
  // Loaded only to draw: a command in a pipe (`tenure drift` is timed from its start) never loads it.
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar({
    stream,
    format: "{label} {bar} {percentage}% {value}/{total} · eta {eta_formatted}",
    barCompleteChar: "█",
    barIncompleteChar: "░",
    barsize: 24,
    hideCursor: true,
    clearOnComplete: true,
    formatValue: (value, options, type) =>
      units === "bytes" && (type === "value" || type === "total")
        ? formatBytes(Number(value))
        : cliProgress.Format.ValueFormat(value, options, type),
  });
  let running = false;
  return {
    active: true,
    start(label, total) {
      if (running) bar.stop();
      bar.start(total, 0, { label });
      running = true;
    },
    increment: (by = 1) => bar.increment(by),
    update: (value) => bar.update(value),
    setTotal: (total) => bar.setTotal(total),
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}

/**
 * A sweep's onProgress that moves `progress` over a fleet of `live` deployments, started now.
 * A sweep reads deployments that went live after the count too: the total grows to meet them.
 */
export function sweepProgress(progress: Progress, live: number): (read: number) => void {
  progress.start("sweep   ", Math.max(live, 1));
  let total = Math.max(live, 1);
  return (read) => {
    if (read > total) {
      total = read;
      progress.setTotal(total);
    }
    progress.update(read);
  };
}
