/** Eighths of a cell, from empty to full: how far the last filled cell goes. */
const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"] as const;
const EMPTY = "·";
const REVIEW = "│";

/**
 * Deployment age against its TTL as a bar of `width` cells, `width` cells being the TTL:
 * `████████▌··│··`. The cell at the review point holds `│` whether the age has passed it or not,
 * so the mark shows on a full bar too; an age past its TTL fills every cell (the percent beside
 * the bar says how far past). Plain characters, one column each: widths count them as they are.
 */
export function ageBar(ttlFraction: number, reviewAt: number | null, width = 14): string {
  const fraction = Number.isFinite(ttlFraction) ? Math.min(Math.max(ttlFraction, 0), 1) : 0;
  const eighths = Math.round(fraction * width * 8);
  const full = Math.floor(eighths / 8);
  const cells: string[] = [];
  for (let i = 0; i < width; i++) {
    if (i < full) cells.push(EIGHTHS[8]);
    else if (i === full && eighths % 8 > 0) cells.push(EIGHTHS[eighths % 8] ?? EMPTY);
    else cells.push(EMPTY);
  }
  const mark = reviewMarkCell(reviewAt, width);
  if (mark !== null) cells[mark] = REVIEW;
  return cells.join("");
}

/**
 * The cell that stands for the review point: the one whose left edge is nearest to it, kept
 * inside the bar (a review point of 0 or 1 would otherwise fall off an end). Null without one.
 */
export function reviewMarkCell(reviewAt: number | null, width: number): number | null {
  if (reviewAt === null || !Number.isFinite(reviewAt) || width < 1) return null;
  return Math.min(Math.max(Math.round(reviewAt * width), 0), width - 1);
}

/** `62%`, `411%`: the part of its TTL a deployment has served, as `describeAge` rounds it. */
export function ttlPercent(ttlFraction: number): string {
  return `${Math.round(ttlFraction * 100)}%`;
}
