import { formatDuration } from "./duration.js";
import type {
  AgeItem,
  DueItem,
  ExpiredItem,
  ForecastItem,
  ReportSubject,
  RotReport,
  StateItem,
  TeamReport,
} from "./rot-report.js";

/**
 * The rot report as text for a terminal, as markdown to paste into a ticket, and as short lines
 * for chat. Every section is one table description (its columns), drawn by each renderer.
 */

/** Colours the text renderer may use; each returns its text unchanged when colour is off. */
export interface ReportPaint {
  stage(text: string, stage: string | null): string;
  state(text: string, state: string | null): string;
  bad(text: string): string;
  dim(text: string): string;
  bold(text: string): string;
}

const PLAIN: ReportPaint = {
  stage: (t) => t,
  state: (t) => t,
  bad: (t) => t,
  dim: (t) => t,
  bold: (t) => t,
};

interface Column<T> {
  header: string;
  cell(item: T): string;
  /** Numbers align right in markdown. */
  right?: boolean;
  /** The colour of a cell in the terminal. */
  paint?(text: string, item: T, paint: ReportPaint): string;
}

interface Section<T> {
  key: keyof Omit<TeamReport, "owner_team" | "live">;
  title(report: RotReport): string;
  columns: Column<T>[];
  /** One line per item for chat. */
  line(item: T): string;
  /** Listed with the count of items that call for action. */
  attention: boolean;
}

const d = (seconds: number | null) => (seconds === null ? "-" : formatDuration(seconds));
const num = (value: number | null) => (value === null ? "-" : String(Number(value.toPrecision(4))));
const day = (iso: string | null) => (iso === null ? "-" : `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`);
const percent = (fraction: number | null) => (fraction === null ? "-" : `${Math.round(fraction * 100)}%`);
const who = (i: ReportSubject) => `${i.model} ${i.model_version} (${i.environment}, #${i.deployment_id})`;

const SUBJECT: Column<ReportSubject>[] = [
  { header: "ID", cell: (i) => String(i.deployment_id), right: true },
  { header: "MODEL", cell: (i) => i.model },
  { header: "VERSION", cell: (i) => i.model_version },
  { header: "ENV", cell: (i) => i.environment },
];

const EXPIRED: Section<ExpiredItem> = {
  key: "expired",
  title: () => "Expired",
  attention: true,
  columns: [
    ...SUBJECT,
    { header: "AGE", cell: (i) => d(i.deployment_age_seconds), right: true },
    { header: "TTL", cell: (i) => d(i.ttl_seconds), right: true },
    {
      header: "OVERDUE",
      cell: (i) => d(i.overdue_seconds),
      right: true,
      paint: (t, _i, p) => p.stage(t, "expired"),
    },
    { header: "EXPIRED AT", cell: (i) => day(i.expired_at) },
    {
      header: "NOTE",
      cell: (i) =>
        i.current
          ? i.in_period
            ? "expired in the period"
            : "expired before the period"
          : `ended since (${i.resolution ?? "ended"})`,
    },
  ],
  line: (i) =>
    i.current
      ? `${who(i)}: ${d(i.deployment_age_seconds)} old, TTL ${d(i.ttl_seconds)}, ${d(i.overdue_seconds)} overdue`
      : `${who(i)}: expired ${day(i.expired_at)}, ended since (${i.resolution ?? "ended"})`,
};

const DUE: Section<DueItem> = {
  key: "due",
  title: (r) => `Due in the next ${formatDuration(r.horizon_seconds)}`,
  attention: true,
  columns: [
    ...SUBJECT,
    { header: "AGE", cell: (i) => d(i.deployment_age_seconds), right: true },
    { header: "TTL", cell: (i) => d(i.ttl_seconds), right: true },
    {
      header: "EXPIRES IN",
      cell: (i) => d(i.expires_in_seconds),
      right: true,
      paint: (t, _i, p) => p.stage(t, "due"),
    },
    { header: "EXPIRES AT", cell: (i) => day(i.expires_at) },
    { header: "STAGE", cell: (i) => i.stage ?? "-", paint: (t, i, p) => p.stage(t, i.stage) },
  ],
  line: (i) =>
    `${who(i)}: expires in ${d(i.expires_in_seconds)} (${day(i.expires_at)}), ${d(i.deployment_age_seconds)} of ${d(i.ttl_seconds)}`,
};

/** A time until a breach: `now` once the curve says it is past (but no window has shown it yet). */
const until = (seconds: number) => (seconds <= 0 ? "now" : formatDuration(seconds));
const interval = (i: ForecastItem) =>
  `${until(i.interval_seconds[0])}–${i.interval_seconds[1] === null ? "∞" : until(i.interval_seconds[1])}`;

const FORECAST: Section<ForecastItem> = {
  key: "forecast_breaches",
  // Within the horizon by the deployment's own forecast, or flagged by a sweep's finding (which
  // fires when the earliest crossing comes before the next review point, however far the breach).
  title: () => "Forecast breaches",
  attention: true,
  columns: [
    ...SUBJECT,
    { header: "METRIC", cell: (i) => i.metric },
    {
      header: "BREACH IN",
      cell: (i) => until(i.breach_in_seconds),
      right: true,
      paint: (t, _i, p) => p.bad(t),
    },
    { header: "INTERVAL", cell: interval, right: true },
    { header: "SLOPE/DAY", cell: (i) => num(i.slope_per_day), right: true },
    { header: "BREACH AT", cell: (i) => day(i.breach_at) },
    { header: "FROM", cell: (i) => i.source },
  ],
  line: (i) =>
    `${who(i)}: ${i.metric} crosses its target ${i.breach_in_seconds <= 0 ? "now" : `in ${d(i.breach_in_seconds)}`} (${interval(i)}, ${num(i.slope_per_day)}/day)`,
};

const stateNote = (i: StateItem, word: string) =>
  i.current
    ? i.in_period
      ? `${word} now (since ${day(i.opened_at)})`
      : `${word} now`
    : `recovered (${i.resolution ?? "resolved"} ${day(i.resolved_at)})`;

const DEGRADED: Section<StateItem> = {
  key: "degraded",
  title: () => "Degraded",
  attention: true,
  columns: [
    ...SUBJECT,
    { header: "METRIC", cell: (i) => i.metric ?? "-" },
    { header: "VALUE", cell: (i) => num(i.value), right: true },
    { header: "TARGET", cell: (i) => num(i.target), right: true },
    { header: "DROP", cell: (i) => num(i.drop), right: true },
    {
      header: "STATE",
      cell: (i) => stateNote(i, "degraded"),
      paint: (t, i, p) => p.state(t, i.current ? "degraded" : "ok"),
    },
  ],
  line: (i) =>
    `${who(i)}: ${i.metric ?? "metric"} ${num(i.value)} against ${num(i.target)} (drop ${num(i.drop)}), ${stateNote(i, "degraded")}`,
};

const DRIFTED: Section<StateItem> = {
  key: "drifted",
  title: () => "Drifted",
  attention: true,
  columns: [
    ...SUBJECT,
    { header: "SHARE", cell: (i) => percent(i.share), right: true },
    {
      header: "STATE",
      cell: (i) => stateNote(i, "drifted"),
      paint: (t, i, p) => p.state(t, i.current ? "drifted" : "stable"),
    },
  ],
  line: (i) => `${who(i)}: ${percent(i.share)} of features drifted, ${stateNote(i, "drifted")}`,
};

const OLDEST: Section<AgeItem> = {
  key: "oldest",
  title: () => "Oldest models",
  attention: false,
  columns: [
    ...SUBJECT,
    { header: "AGE", cell: (i) => d(i.deployment_age_seconds), right: true },
    { header: "TTL", cell: (i) => d(i.ttl_seconds), right: true },
    {
      header: "OF TTL",
      cell: (i) => percent(i.ttl_fraction),
      right: true,
      paint: (t, i, p) => (i.ttl_fraction >= 1 ? p.stage(t, "expired") : t),
    },
  ],
  line: (i) =>
    `${who(i)}: ${d(i.deployment_age_seconds)} of ${d(i.ttl_seconds)} (${percent(i.ttl_fraction)})`,
};

const STALEST: Section<AgeItem> = {
  key: "stalest_data",
  title: () => "Stalest training data",
  attention: false,
  columns: [
    ...SUBJECT,
    {
      header: "DATA AGE",
      cell: (i) => d(i.data_age_seconds),
      right: true,
      paint: (t, i, p) =>
        i.max_data_age_seconds !== null && i.data_age_seconds >= i.max_data_age_seconds ? p.bad(t) : t,
    },
    { header: "MAX", cell: (i) => d(i.max_data_age_seconds), right: true },
  ],
  line: (i) =>
    `${who(i)}: data ${d(i.data_age_seconds)} old${i.max_data_age_seconds === null ? "" : ` (max ${d(i.max_data_age_seconds)})`}`,
};

// Each section is drawn from its own item type; the list erases it, each entry keeps its pairing.
const SECTIONS = [
  EXPIRED,
  DUE,
  FORECAST,
  DEGRADED,
  DRIFTED,
  OLDEST,
  STALEST,
] as unknown as Section<unknown>[];

const itemsOf = (team: TeamReport, section: Section<unknown>) => team[section.key] as unknown[];

/** `2 expired · 1 due · 1 forecast breach`: what calls for action, or that nothing does. */
export function teamSummary(team: TeamReport): string {
  const parts: string[] = [];
  const add = (n: number, one: string, many = one) => {
    if (n > 0) parts.push(`${n} ${n === 1 ? one : many}`);
  };
  add(team.expired.length, "expired");
  add(team.due.length, "due");
  add(team.forecast_breaches.length, "forecast breach", "forecast breaches");
  add(team.degraded.length, "degraded");
  add(team.drifted.length, "drifted");
  const live = `${team.live} live`;
  return parts.length === 0
    ? `${live}; nothing expired, due, breaching, degraded or drifted`
    : `${live}; ${parts.join(", ")}`;
}

function periodLine(report: RotReport): string {
  return `generated ${day(report.generated_at)}; period: the last ${formatDuration(report.since_seconds)} (since ${day(report.since)}); looking ahead ${formatDuration(report.horizon_seconds)}`;
}

/** The report for a terminal: a heading per team, then each section as an aligned table. */
export function renderReportText(report: RotReport, paint: ReportPaint = PLAIN): string {
  const out: string[] = [`${paint.bold("Rot report")}  ${paint.dim(periodLine(report))}`, ""];
  if (report.teams.length === 0) out.push("no live deployments and no alerts in the period", "");
  for (const team of report.teams) {
    out.push(`${paint.bold(`== ${team.owner_team} ==`)}  ${teamSummary(team)}`, "");
    for (const section of SECTIONS) {
      const items = itemsOf(team, section);
      const title = `${section.title(report)} (${items.length})`;
      if (items.length === 0) {
        out.push(`${paint.bold(title)}  ${paint.dim("none")}`, "");
        continue;
      }
      out.push(paint.bold(title), alignedTable(section.columns, items, paint), "");
    }
  }
  return `${out.join("\n").trimEnd()}\n`;
}

function alignedTable<T>(columns: Column<T>[], items: T[], paint: ReportPaint): string {
  const cells = items.map((item) => columns.map((c) => c.cell(item)));
  const widths = columns.map((c, k) =>
    Math.max(c.header.length, ...cells.map((row) => (row[k] ?? "").length)),
  );
  const pad = (text: string, k: number, right: boolean | undefined) => {
    // The last column, left-aligned, takes no padding: a line ends where its text does.
    if (k === columns.length - 1 && !right) return text;
    const space = " ".repeat(Math.max(0, (widths[k] ?? 0) - text.length));
    return right ? `${space}${text}` : `${text}${space}`;
  };
  const lines = [
    `  ${columns.map((c, k) => paint.dim(pad(c.header, k, c.right))).join("  ")}`,
    ...cells.map(
      (row, n) =>
        `  ${row
          .map((text, k) => {
            const column = columns[k] as Column<T>;
            // Padded by the plain text's width, then painted: escape codes take no column.
            const padded = pad(text, k, column.right);
            return column.paint ? column.paint(padded, items[n] as T, paint) : padded;
          })
          .join("  ")}`,
    ),
  ];
  return lines.map((line) => line.trimEnd()).join("\n");
}

/** The report as markdown for a ticket: a heading per team and a table per section. */
export function renderReportMarkdown(report: RotReport): string {
  const out: string[] = ["# Rot report", "", `_${periodLine(report)}_`, ""];
  if (report.teams.length === 0) out.push("No live deployments and no alerts in the period.", "");
  for (const team of report.teams) out.push(...teamMarkdown(report, team, "##"));
  return `${out.join("\n").trimEnd()}\n`;
}

/** One team's part of the markdown, its heading at `level` and its sections one level down. */
export function teamMarkdown(report: RotReport, team: TeamReport, level = "##"): string[] {
  const out = [`${level} ${escapeCell(team.owner_team)}`, "", `**${teamSummary(team)}.**`, ""];
  for (const section of SECTIONS) {
    const items = itemsOf(team, section);
    out.push(`${level}# ${section.title(report)} (${items.length})`, "");
    if (items.length === 0) {
      out.push("_None._", "");
      continue;
    }
    const columns = section.columns;
    out.push(
      `| ${columns.map((c) => titleCase(c.header)).join(" | ")} |`,
      `|${columns.map((c) => (c.right ? "---:" : "---")).join("|")}|`,
      ...items.map((item) => `| ${columns.map((c) => escapeCell(c.cell(item))).join(" | ")} |`),
      "",
    );
  }
  return out;
}

/** One team's sections as short lines, for chat: `[title, lines][]`, empty sections left out. */
export function teamLines(report: RotReport, team: TeamReport): { title: string; lines: string[] }[] {
  return SECTIONS.map((section) => {
    const items = itemsOf(team, section);
    return { title: `${section.title(report)} (${items.length})`, lines: items.map((i) => section.line(i)) };
  }).filter((s) => s.lines.length > 0);
}

export { periodLine as reportPeriodLine };

/** `EXPIRES IN` → `Expires in`, acronyms kept: `OF TTL` → `Of TTL`, `ID` → `ID`. */
const ACRONYMS = new Set(["ID", "TTL"]);
const titleCase = (header: string) =>
  header
    .split(" ")
    .map((word, i) =>
      ACRONYMS.has(word) ? word : i === 0 ? word.charAt(0) + word.slice(1).toLowerCase() : word.toLowerCase(),
    )
    .join(" ");

// A `|` would end the cell; a newline the row. Backslash-escaped pipes are GitHub's and GitLab's rule.
function escapeCell(text: string): string {
  return text
    .replaceAll("\\", "\\\\")
    .replaceAll("|", "\\|")
    .replace(/[\r\n]+/g, " ");
}
