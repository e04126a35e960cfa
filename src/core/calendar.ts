/** One live deployment's lifecycle dates, as the calendar feed shows them. */
export interface LifecycleEntry {
  deployment_id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  policy: string;
  exempt: boolean;
  /** epoch ms */
  due_at: number;
  /** epoch ms */
  expires_at: number;
  /** URL of the deployment */
  link: string;
}

export interface CalendarOptions {
  /** DTSTAMP of every event, epoch ms. */
  now: number;
  /** Calendar name shown by clients, e.g. `Tenure: risk`. */
  name: string;
  /** Right-hand side of every UID, so UIDs stay unique across Tenure installations. */
  host: string;
}

interface CalendarEvent {
  uid: string;
  day: number;
  lines: string[];
}

const DAY_MS = 86_400_000;
// RFC 5545 §3.1: a content line is at most 75 octets, CRLF excluded.
const MAX_LINE_OCTETS = 75;

/**
 * Renders the review and expiry dates of `entries` as an RFC 5545 iCalendar feed for subscription.
 * Events are all-day on their UTC date and keep a stable UID per deployment and kind, so a review
 * that extends a TTL moves the subscriber's event instead of adding a second one. Exempt
 * deployments are shown, marked `(exempt)`, but carry no alarm. Output is sorted by date then UID,
 * so the same input always renders the same bytes.
 */
export function renderCalendar(entries: LifecycleEntry[], options: CalendarOptions): string {
  const events = entries
    .flatMap((entry) => [eventOf(entry, "review", options), eventOf(entry, "expiry", options)])
    .sort((a, b) => a.day - b.day || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  // RFC 5545's grammar asks for at least one component; an empty VCALENDAR is still what every
  // major client accepts, and it is the truthful answer for a team with no live deployments.
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Tenure//Lifecycle//EN",
    "CALSCALE:GREGORIAN",
    "METHOD:PUBLISH",
    `X-WR-CALNAME:${escapeText(options.name)}`,
    // RFC 7986 §5.7 and Outlook's older X-PUBLISHED-TTL: poll hourly so moved dates show up soon.
    "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
    "X-PUBLISHED-TTL:PT1H",
    ...events.flatMap((event) => event.lines),
    "END:VCALENDAR",
  ];
  return lines.map((line) => `${fold(line)}\r\n`).join("");
}

function eventOf(entry: LifecycleEntry, kind: "review" | "expiry", options: CalendarOptions): CalendarEvent {
  const at = kind === "review" ? entry.due_at : entry.expires_at;
  const day = Math.floor(at / DAY_MS);
  const uid = `deployment-${entry.deployment_id}-${kind}@${options.host}`;
  const subject = `${entry.model} ${entry.model_version} (${entry.environment})`;
  const summary = `${kind === "review" ? "Review" : "Expires:"} ${subject}${entry.exempt ? " (exempt)" : ""}`;
  const description = [
    `Team: ${entry.owner_team}`,
    `Environment: ${entry.environment}`,
    `Policy: ${entry.policy}${entry.exempt ? " (exempt)" : ""}`,
    entry.link,
  ].join("\n");
  const lines = [
    "BEGIN:VEVENT",
    `UID:${escapeText(uid)}`,
    `DTSTAMP:${utcDateTime(options.now)}`,
    // A date alone makes an all-day event (RFC 5545 §3.6.1); DTEND is exclusive, hence the next day.
    `DTSTART;VALUE=DATE:${utcDate(day)}`,
    `DTEND;VALUE=DATE:${utcDate(day + 1)}`,
    // Days since the epoch grow when a review extends the TTL, so the moved event outranks the old one
    // with no stored counter. A shortened TTL lowers it, but feed clients re-read by UID regardless.
    `SEQUENCE:${Math.max(0, day)}`,
    `SUMMARY:${escapeText(summary)}`,
    `DESCRIPTION:${escapeText(description)}`,
    `URL:${uriValue(entry.link)}`,
    `CATEGORIES:tenure,${kind}`,
    // A deadline is a marker, not a meeting: it must not make the team look busy all day.
    "TRANSP:TRANSPARENT",
  ];
  if (kind === "expiry" && !entry.exempt) {
    // RFC 5545 §3.6.6: a DISPLAY alarm needs its own DESCRIPTION; the trigger is relative to DTSTART.
    lines.push(
      "BEGIN:VALARM",
      "ACTION:DISPLAY",
      "TRIGGER:-P1D",
      `DESCRIPTION:${escapeText(summary)}`,
      "END:VALARM",
    );
  }
  lines.push("END:VEVENT");
  return { uid, day, lines };
}

/** RFC 5545 §3.3.11: escape backslash, semicolon, comma and newline; other controls are not TEXT. */
function escapeText(value: string): string {
  return value
    .replace(/\r\n?/g, "\n")
    .replace(/[\\;,]/g, (char) => `\\${char}`)
    .replace(/\n/g, "\\n")
    .replace(/(?!\t)\p{Cc}/gu, "");
}

/** A URI value is not TEXT (no backslash escapes), but a raw control or space would break the line. */
function uriValue(link: string): string {
  return link.replace(/[\p{Cc} ]/gu, (char) => encodeURIComponent(char));
}

/** `yyyymmdd` of a day counted from the epoch, in UTC so every subscriber sees the same date. */
function utcDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll("-", "");
}

/** RFC 5545 §3.3.5 UTC form: `20261125T190000Z`. */
function utcDateTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, "");
}

/**
 * RFC 5545 §3.1: fold after at most 75 octets, continuing with one space (which counts towards the
 * next line's 75). Walking by code point and counting UTF-8 octets never splits a character.
 */
function fold(line: string): string {
  const parts: string[] = [];
  let current = "";
  let octets = 0;
  for (const char of line) {
    const size = utf8Octets(char.codePointAt(0) ?? 0);
    const limit = parts.length === 0 ? MAX_LINE_OCTETS : MAX_LINE_OCTETS - 1;
    if (octets + size > limit) {
      parts.push(current);
      current = "";
      octets = 0;
    }
    current += char;
    octets += size;
  }
  parts.push(current);
  return parts.join("\r\n ");
}

function utf8Octets(codePoint: number): number {
  if (codePoint < 0x80) return 1;
  if (codePoint < 0x800) return 2;
  return codePoint < 0x10000 ? 3 : 4;
}
