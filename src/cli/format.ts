import { formatDuration } from "../core/duration.js";
import type { DeploymentView } from "../registry/deployment-view.js";

/**
 * Renders rows as a plain left-aligned table with a header, two spaces between columns; each
 * column at least as wide as `minWidths` says (a page printed under an earlier one).
 */
export function table(headers: string[], rows: string[][], minWidths: number[] = []): string {
  const widths = columnWidths(headers, rows, minWidths);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return `${[line(headers), ...rows.map(line)].join("\n")}\n`;
}

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
