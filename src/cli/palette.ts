import picocolors from "picocolors";

/** A word and the colour it gets; every colour is on a word that says the same (never colour alone). */
export interface Palette {
  /** fresh green, due yellow, expired red; a status of an ended deployment stays plain. */
  stage(text: string, stage: string | null): string;
  /** keep green, review yellow, retrain magenta, retire red. */
  verdict(text: string, verdict: string | null): string;
  /** A performance or drift state: ok green; degraded, below, drifted red; possible yellow. */
  state(text: string, state: string | null): string;
  good(text: string): string;
  bad(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

/** The palette for a mode: with `color` false every function returns its text as it is. */
export function palette(color: boolean): Palette {
  const c = picocolors.createColors(color);
  const by =
    (colors: Record<string, (text: string) => string>) =>
    (text: string, key: string | null): string => {
      const paint = key === null ? undefined : colors[key];
      return paint ? paint(text) : text;
    };
  return {
    stage: by({ fresh: c.green, due: c.yellow, expired: c.red }),
    verdict: by({ keep: c.green, review: c.yellow, retrain: c.magenta, retire: c.red }),
    state: by({
      ok: c.green,
      stable: c.green,
      degraded: c.red,
      below: c.red,
      drifted: c.red,
      possible: c.yellow,
    }),
    good: c.green,
    bad: c.red,
    dim: c.dim,
    bold: c.bold,
  };
}
