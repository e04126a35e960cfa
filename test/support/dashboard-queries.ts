import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parse } from "yaml";

/** The deploy/ folder: the Grafana dashboard and the Prometheus rules that ship with Tenure. */
export const DEPLOY_DIR = resolve(import.meta.dirname, "../../deploy");
export const DASHBOARD_PATH = resolve(DEPLOY_DIR, "grafana/tenure.json");
export const RULES_PATH = resolve(DEPLOY_DIR, "prometheus/tenure-rules.yml");

export interface DatasourceRef {
  type?: string;
  uid?: string;
}

export interface GrafanaTarget {
  refId?: string;
  expr?: string;
  datasource?: DatasourceRef;
  [key: string]: unknown;
}

export interface GrafanaPanel {
  id?: number;
  type?: string;
  title?: string;
  gridPos?: { x?: number; y?: number; w?: number; h?: number };
  datasource?: DatasourceRef;
  targets?: GrafanaTarget[];
  panels?: GrafanaPanel[];
  repeat?: string;
  [key: string]: unknown;
}

export interface GrafanaVariable {
  type: string;
  name: string;
  query?: unknown;
  definition?: string;
  datasource?: DatasourceRef;
  [key: string]: unknown;
}

export interface GrafanaDashboard {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: GrafanaPanel[];
  templating: { list: GrafanaVariable[] };
  [key: string]: unknown;
}

export function readDashboard(): GrafanaDashboard {
  return JSON.parse(readFileSync(DASHBOARD_PATH, "utf8")) as GrafanaDashboard;
}

/** Every panel, with those nested in collapsed rows. */
export function allPanels(dashboard: GrafanaDashboard): GrafanaPanel[] {
  return dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
}

/** A PromQL expression and where it comes from, for a message that names it. */
export interface NamedQuery {
  where: string;
  expr: string;
}

export function dashboardQueries(dashboard: GrafanaDashboard): NamedQuery[] {
  return allPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel "${panel.title}" query ${target.refId}`,
      expr: target.expr ?? "",
    })),
  );
}

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; record?: string; expr: string }> }>;
}

export function ruleQueries(path = RULES_PATH): NamedQuery[] {
  const file = parse(readFileSync(path, "utf8")) as RuleFile;
  return file.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      where: rule.alert ? `alert ${rule.alert}` : `recording rule ${rule.record}`,
      expr: rule.expr,
    })),
  );
}

/**
 * The `label_values(metric{selector}, label)` queries of the dashboard's query variables: Grafana
 * runs them through Prometheus's label values API, not as PromQL.
 */
export function variableQueries(
  dashboard: GrafanaDashboard,
): Array<{ name: string; selector: string; label: string }> {
  return dashboard.templating.list
    .filter((variable) => variable.type === "query")
    .map((variable) => {
      const match = /^label_values\((.+),\s*(\w+)\)$/.exec(variable.definition ?? "");
      if (!match?.[1] || !match[2]) throw new Error(`variable ${variable.name} is not a label_values query`);
      return { name: variable.name, selector: match[1], label: match[2] };
    });
}

/** Grafana's own variables (https://grafana.com/docs/grafana/latest/dashboards/variables/add-template-variables/#global-variables). */
export const GRAFANA_GLOBALS = ["__rate_interval", "__interval", "__range", "__interval_ms", "__range_s"];

/**
 * Replaces `$name` and `${name}` as Grafana does before it sends a query, with the values a test
 * chose: a variable holding several values or All is sent as a regex.
 */
export function substituteVariables(expr: string, values: Record<string, string>): string {
  return expr.replace(
    /\$\{(\w+)\}|\$(\w+)/g,
    (whole, braced: string | undefined, bare: string | undefined) => {
      const name = braced ?? bare ?? "";
      const value = values[name];
      if (value === undefined) throw new Error(`no value for ${whole} in ${expr}`);
      return value;
    },
  );
}
