import { formatDuration } from "../core/duration.js";
import type { LearnedTtlExplanation } from "../lifecycle/learned-ttl-view.js";
import { shortTime } from "./format.js";

/** `policy explain`'s lines on a `max_age: auto` TTL: where it came from, its evidence, its changes. */
export function learnedTtlLines(learned: LearnedTtlExplanation | null): string[] {
  if (!learned) return [];
  const bounds = `auto within ${formatDuration(learned.min_seconds)}..${formatDuration(learned.max_seconds)}, fallback ${formatDuration(learned.fallback_seconds)}`;
  const lines = [
    `  max_age          ${bounds}: ${learned.source} ${formatDuration(learned.ttl_seconds)}${learned.learned_at ? ` (learned ${shortTime(learned.learned_at)})` : " (no sweep has learned it yet)"}`,
  ];
  if (learned.reason) lines.push(`  why              ${learned.reason}`);
  const e = learned.evidence;
  if (e) {
    const round = (x: number) => Number(x.toPrecision(3));
    lines.push(
      `  evidence         ${e.metric} slope ${round(e.slope_per_day)}/day (interval ${round(e.interval_per_day[0])}..${round(e.interval_per_day[1])}), threshold ${round(e.threshold)}, ${e.based_on_deployments} deployments, ${e.based_on_windows} windows`,
    );
  }
  for (const c of learned.changes) {
    lines.push(
      `  TTL changed      ${shortTime(c.at)}: ${formatDuration(c.from_seconds)} -> ${formatDuration(c.to_seconds)} (${c.source})${c.reason ? `: ${c.reason}` : ""}`,
    );
  }
  return lines;
}
