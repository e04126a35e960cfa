import cliProgress from "cli-progress";
import { formatBytes } from "./format.js";
import type { Io } from "./io.js";
import { showsProgress } from "./output-mode.js";

/** A progress bar on stderr for work over many items, or nothing at all where it cannot redraw. */
export interface Progress {
  /** Starts (or restarts, for a next phase) at 0 of `total`, named `label`. */
  start(label: string, total: number): void;
  increment(by?: number): void;
  update(value: number): void;
  /** Clears the bar, so that stderr keeps only what the command says. */
  stop(): void;
}

const QUIET: Progress = { start() {}, increment() {}, update() {}, stop() {} };

/**
 * A bar for `io`'s stderr when it is a terminal (see `showsProgress`); in a pipe, a file or a
 * test, a bar that draws nothing, so a command's output there is only what it prints.
 * `bytes` shows the counts as sizes (`12.0 MiB/40.0 MiB`).
 */
export function progressBar(io: Io, units: "count" | "bytes" = "count"): Progress {
  const stream = io.progressStream;
  if (!stream || !showsProgress(io.env, io.terminal?.err === true)) return QUIET;
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
    start(label, total) {
      if (running) bar.stop();
      bar.start(total, 0, { label });
      running = true;
    },
    increment: (by = 1) => bar.increment(by),
    update: (value) => bar.update(value),
    stop() {
      if (running) bar.stop();
      running = false;
    },
  };
}
