/**
 * How a command draws for where its output goes. A terminal gets colour and drawings (the age
 * bar, the sparkline's colours); a pipe or a file gets plain text with no escape codes, so that
 * scripts and `grep` read the same columns they always did.
 */
export interface OutputMode {
  /** ANSI colours. */
  color: boolean;
  /** Drawings that add a column or change the layout (the age bar of `tenure ls`). */
  drawings: boolean;
}

/**
 * Decides the mode from the environment and whether the stream is a terminal.
 * - `NO_COLOR` set and non-empty turns colour off, whatever else is set (https://no-color.org);
 *   the drawings stay, since they are shapes and words, not colour.
 * - `FORCE_COLOR` set and non-empty, other than `0` or `false`, draws as on a terminal even in a
 *   pipe (`FORCE_COLOR=1 tenure ls | less -R`); `0` or `false` turns colour off
 *   (https://force-color.org, and Node's reading of `0`).
 * - `TERM=dumb` is a terminal that cannot place colours: plain text.
 */
export function outputMode(env: NodeJS.ProcessEnv, isTTY: boolean): OutputMode {
  const force = env.FORCE_COLOR ?? "";
  const forced = force !== "" && force !== "0" && force !== "false";
  const forbidden = force === "0" || force === "false";
  const terminal = forced || (isTTY && env.TERM !== "dumb");
  const noColor = (env.NO_COLOR ?? "") !== "";
  return { color: terminal && !noColor && !forbidden, drawings: terminal };
}

/**
 * Whether a progress bar may draw on this stream: only a real terminal, which it redraws in
 * place. FORCE_COLOR does not make a pipe one: a redrawn bar in a log file is noise.
 */
export function showsProgress(env: NodeJS.ProcessEnv, isTTY: boolean): boolean {
  return isTTY && env.TERM !== "dumb";
}
