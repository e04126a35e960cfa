import { formatDuration } from "../core/duration.js";
import type { DeploymentView } from "../registry/deployment-view.js";

/**
 * Renders rows as a plain left-aligned table with a header, two spaces between columns; each
 * column at least as wide as `minWidths` says (a page printed under an earlier one).
 */
export function table(
  headers: string[],
  rows: string[][],
  minWidths: number[] = [],
  paint?: CellPaint,
): string {
  const widths = columnWidths(headers, rows, minWidths);
  // Padded by the plain text's width, then painted: escape codes take no column.
  const line = (cells: string[], row: number) =>
    cells
      .map((c, i) => {
        const pad = i === cells.length - 1 ? "" : " ".repeat(Math.max(0, (widths[i] ?? 0) - c.length));
        return `${paint ? paint(c, row, i) : c}${pad}`;
      })
      .join("  ")
      .trimEnd();
  return `${[line(headers, -1), ...rows.map((r, i) => line(r, i))].join("\n")}\n`;
}

/** Colours one cell of `table`: its text, its row (-1 for the header) and its column. */
export type CellPaint = (text: string, row: number, column: number) => string;

/** The width of each column of `table`: its widest cell, header or `minWidths`. */
export function columnWidths(headers: string[], rows: string[][], minWidths: number[] = []): number[] {
  return headers.map((h, i) =>
    Math.max(h.length, minWidths[i] ?? 0, ...rows.map((r) => (r[i] ?? "").length)),
  );
}

/** The stage column: the stage for live deployments, the status once ended. */
export function stageLabel(d: DeploymentView): string {
  if (d.age.stage === null) return d.status;
  return d.age.exempt ? `${d.age.stage} (exempt)` : d.age.stage;
}

/** `950`, `1.2k`, `48.0k`, `3.1M`: a count a person scans. */
export function compactCount(n: number): string {
  if (Math.abs(n) >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (Math.abs(n) >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return String(n);
}

/** `812 B`, `64.0 KiB`, `1.5 MiB`, `2.0 GiB`: sizes in powers of 1024, as `ls -h` shows them. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function deploymentRows(items: DeploymentView[]): string[][] {
  return items.map((d) => [
    String(d.id),
    d.model,
    d.model_version,
    d.environment,
    d.owner_team,
    d.role,
    formatDuration(d.age.deployment_age_seconds),
    formatDuration(d.age.data_age_seconds),
    d.age.performance_age_seconds === null ? "-" : formatDuration(d.age.performance_age_seconds),
    stageLabel(d),
    d.age.health_score === null ? "-" : String(d.age.health_score),
    d.age.verdict ?? "-",
  ]);
}

export const DEPLOYMENT_HEADERS = [
  "ID",
  "MODEL",
  "VERSION",
  "ENV",
  "TEAM",
  "ROLE",
  "AGE",
  "DATA AGE",
  "PERF AGE",
  "STAGE",
  "HEALTH",
  "VERDICT",
];

/** `2026-10-01T00:00:00.000Z` → `2026-10-01 00:00Z`: what a person scans for. */
export function shortTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;
}
