import { describe, expect, it } from "vitest";
import {
  allPanels,
  dashboardQueries,
  GRAFANA_GLOBALS,
  type GrafanaPanel,
  readDashboard,
  variableQueries,
} from "../support/dashboard-queries.js";

const dashboard = readDashboard();
const panels = allPanels(dashboard);
const queried = panels.filter((panel) => panel.type !== "row");
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own syntax for its variables, as the JSON holds it.
const GRAFANA = { datasource: "${datasource}", tenureUrl: "${tenure_url}", cellValue: "${__value.raw}" };
const DATASOURCE = { type: "prometheus", uid: GRAFANA.datasource };
/** Panels that ship with Grafana: the dashboard needs no plugin. */
const BUILT_IN_PANELS = ["row", "stat", "table", "timeseries", "bargauge", "gauge", "text", "state-timeline"];

describe("deploy/grafana/tenure.json", () => {
  it("is a classic Grafana dashboard of a current schema with a stable uid", () => {
    expect(dashboard).toMatchObject({
      schemaVersion: 42,
      uid: "tenure-fleet",
      title: expect.any(String),
      id: null,
    });
  });

  it("chooses its Prometheus through a `datasource` variable, and builds environment, team and model from label_values", () => {
    const [datasource, ...rest] = dashboard.templating.list;
    expect(datasource).toMatchObject({ type: "datasource", name: "datasource", query: "prometheus" });
    const filters = rest.filter((v) => v.type === "query");
    expect(filters.map((v) => v.name)).toEqual(["environment", "owner_team", "model"]);
    for (const variable of filters) {
      expect(variable).toMatchObject({
        type: "query",
        datasource: DATASOURCE,
        includeAll: true,
        multi: true,
      });
      expect(variable.query).toMatchObject({ query: variable.definition });
    }
    expect(variableQueries(dashboard).map((v) => v.label)).toEqual(["environment", "owner_team", "model"]);
  });

  it("gives every panel a unique id and a place on the 24-column grid, no two overlapping", () => {
    const ids = panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    const boxes = panels.map((panel) => {
      const { x, y, w, h } = panel.gridPos ?? {};
      expect(
        [x, y, w, h].every((n) => Number.isInteger(n)),
        `gridPos of "${panel.title}"`,
      ).toBe(true);
      return { title: panel.title, x: x ?? 0, y: y ?? 0, w: w ?? 0, h: h ?? 0 };
    });
    for (const box of boxes) {
      expect(box.w > 0 && box.h > 0 && box.x >= 0 && box.x + box.w <= 24, `"${box.title}" fits`).toBe(true);
    }
    const overlaps = boxes.flatMap((a, i) =>
      boxes
        .slice(i + 1)
        .filter((b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
        .map((b) => `${a.title} / ${b.title}`),
    );
    expect(overlaps).toEqual([]);
  });

  it("uses only panel types built into Grafana", () => {
    expect(panels.filter((panel) => !BUILT_IN_PANELS.includes(panel.type ?? ""))).toEqual([]);
  });

  it("has the fleet table, Age vs Performance, drift, alerts and gateway traffic", () => {
    const titles = queried.map((panel) => panel.title ?? "");
    for (const wanted of [/^Fleet: deployment age/, /^Age vs Performance/, /drift/i, /alerts/i, /gateway/i]) {
      expect(
        titles.some((title) => wanted.test(title)),
        String(wanted),
      ).toBe(true);
    }
    const age = queried.find((panel) => panel.title?.startsWith("Age vs Performance")) as GrafanaPanel;
    // One chart per model: the metric, target and baseline beside deployment age on a second axis.
    expect(age.repeat).toBe("model");
    const exprs = (age.targets ?? []).map((target) => target.expr ?? "");
    for (const metric of ["metric", "metric_target", "metric_baseline", "age_seconds"]) {
      expect(
        exprs.some((expr) => expr.startsWith(`tenure_deployment_${metric}{`)),
        metric,
      ).toBe(true);
    }
    expect(JSON.stringify(age.fieldConfig)).toContain('"custom.axisPlacement","value":"right"');
  });

  it("queries Prometheus through the datasource variable in every panel and every target, each with an expression", () => {
    expect(queried.length).toBeGreaterThan(8);
    for (const panel of queried) {
      expect(panel.datasource, `datasource of "${panel.title}"`).toEqual(DATASOURCE);
      const targets = panel.targets ?? [];
      expect(targets.length, `targets of "${panel.title}"`).toBeGreaterThan(0);
      expect(new Set(targets.map((t) => t.refId)).size, `refIds of "${panel.title}"`).toBe(targets.length);
      for (const target of targets) {
        expect(target.datasource, `datasource of "${panel.title}" ${target.refId}`).toEqual(DATASOURCE);
        expect(target.expr?.trim(), `expr of "${panel.title}" ${target.refId}`).toBeTruthy();
      }
    }
    // Rows only group panels: they hold no queries.
    expect(panels.filter((panel) => panel.type === "row" && panel.targets)).toEqual([]);
  });

  it("links to Tenure's own model pages and alerts through one tenure_url variable", () => {
    expect(dashboard.templating.list.find((v) => v.name === "tenure_url")).toMatchObject({ type: "textbox" });
    const urls = [...JSON.stringify(dashboard).matchAll(/"url":"([^"]*)"/g)].map((match) => match[1]);
    expect(urls.length).toBeGreaterThanOrEqual(3);
    expect(urls.filter((url) => !url?.startsWith(`${GRAFANA.tenureUrl}/`))).toEqual([]);
    expect(urls).toContain(`${GRAFANA.tenureUrl}/models/${GRAFANA.cellValue}`);
  });

  it("uses only variables it defines or Grafana's own", () => {
    const defined = [...dashboard.templating.list.map((v) => v.name), ...GRAFANA_GLOBALS];
    const used = dashboardQueries(dashboard).flatMap(({ expr }) =>
      [...expr.matchAll(/\$\{?(\w+)\}?/g)].map((match) => match[1]),
    );
    expect(used.length).toBeGreaterThan(0);
    expect(used.filter((name) => !defined.includes(name ?? ""))).toEqual([]);
  });
});
