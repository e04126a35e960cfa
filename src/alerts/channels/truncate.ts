/**
 * Cuts text to at most `max` UTF-16 units (the stricter count Slack and PagerDuty limits use),
 * between code points so an emoji is never split into half a surrogate pair, ending with `…`.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let kept = "";
  for (const char of text) {
    if (kept.length + char.length + 1 > max) break;
    kept += char;
  }
  return `${kept}…`;
}
