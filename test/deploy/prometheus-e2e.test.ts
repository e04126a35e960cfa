import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  allPanels,
  dashboardQueries,
  type NamedQuery,
  RULES_PATH,
  readDashboard,
  ruleQueries,
  substituteVariables,
  variableQueries,
} from "../support/dashboard-queries.js";
import { hasExternalTool } from "../support/external-tool.js";
import { type GatewayProcess, startGatewayProcess } from "../support/gateway-process.js";
import { pollUntil, runTenure, type ServeProcess, startServe, tempDir } from "../support/process.js";
import {
  type InstantVector,
  PROMETHEUS,
  type PrometheusProcess,
  type ScrapeTarget,
  startPrometheus,
  writePrometheusConfig,
} from "../support/prometheus-process.js";

interface FieldConfig {
  overrides: Array<{ matcher: { options: string }; properties: Array<{ id: string; value: unknown }> }>;
}
interface Transformation {
  id: string;
  options: { renameByName?: Record<string, string> };
}

const CAPTURES = resolve(import.meta.dirname, "../../test-results");
const dashboard = readDashboard();
const rules = ruleQueries();

/**
 * Alerts that must return nothing on the demo fleet, and why; each is still run and must parse.
 * Every other alert must return series. When the demo gains a deployment in one of these
 * conditions, its test here fails: move it out of this list.
 */
const QUIET_ON_THE_DEMO: Record<string, string> = {
  TenureSweepOverdue: "a healthy server: the demo swept its fleet when it was seeded",
  TenureSweepFailed: "a healthy server: its last sweep finished",
  TenureDown: "a healthy server: Prometheus reaches it",
  TenureDeliveriesDeadLettered: "not in the demo: its policies send alerts to no channel",
  TenureDeploymentSilent:
    "not in the demo: its policies set no silence_after, so no deployment can be silent",
};

/** Grafana's own variables as a dashboard over a few minutes sends them. */
const GRAFANA_GLOBALS = { __rate_interval: "1m", __interval: "15s", __range: "1h" };
/** Every environment, team and model: Grafana sends the variables' All as their allValue. */
const ALL = { environment: ".*", owner_team: ".*", model: ".*", ...GRAFANA_GLOBALS };
/** One real deployment of the demo: ctr-dnn in production, owned by ads, with drifted inputs. */
const ONE = { environment: "production", owner_team: "ads", model: "ctr-dnn", ...GRAFANA_GLOBALS };

/** Panels repeated per value of a variable get one value each, never All. */
const repeatedBy = new Map<string, string>(
  allPanels(dashboard).flatMap((panel) =>
    panel.repeat
      ? (panel.targets ?? []).map((t) => [`panel "${panel.title}" query ${t.refId}`, panel.repeat ?? ""])
      : [],
  ),
);

describe.skipIf(!hasExternalTool(PROMETHEUS, "apt-get install prometheus"))(
  "Debian's Prometheus scraping tenure serve on the demo fleet runs every query of deploy/",
  () => {
    let dir: ReturnType<typeof tempDir> | undefined;
    let serve: ServeProcess | undefined;
    let gateway: GatewayProcess | undefined;
    let readToken = "";
    let prometheus: PrometheusProcess | undefined;
    /** The values of each query variable, as the label values API lists them. */
    const variableValues = new Map<string, string[]>();

    beforeAll(async () => {
      dir = tempDir();
      const database = join(dir.path, "demo.db");
      const seeded = await runTenure(["demo", "--seed-only", "--database", database], {
        cwd: dir.path,
        timeoutMs: 120_000,
      });
      expect(seeded.code, seeded.stderr).toBe(0);
      const token = await runTenure(
        ["token", "create", "--scope", "read", "--name", "prometheus", "--database", database],
        { cwd: dir.path },
      );
      expect(token.code, token.stderr).toBe(0);
      const gatewayToken = await runTenure(
        ["token", "create", "--scope", "write", "--name", "gateway", "--database", database],
        { cwd: dir.path },
      );
      expect(gatewayToken.code, gatewayToken.stderr).toBe(0);
      const tokenFile = join(dir.path, "tenure-token");
      readToken = token.stdout.trim();
      writeFileSync(tokenFile, readToken, { mode: 0o600 });
      serve = await startServe({
        cwd: dir.path,
        database,
        extraArgs: ["--policies", join(dir.path, "demo-policies.yaml")],
      });
      await sendGatewayTraffic(serve.url, gatewayToken.stdout.trim(), dir.path);
      const config = writePrometheusConfig(
        dir.path,
        [{ job: "tenure", target: `127.0.0.1:${serve.port}`, tokenFile }],
        [RULES_PATH],
      );
      prometheus = await startPrometheus({ dir: dir.path, config });
      const running = prometheus;
      const target = async () =>
        (await running.api<{ activeTargets: ScrapeTarget[] }>("/api/v1/targets")).data?.activeTargets[0];
      await pollUntil(
        "Prometheus's target to be up",
        async () => ((await target())?.health === "up" ? true : undefined),
        30_000,
        200,
      ).catch(async (error: unknown) => {
        throw new Error(`${String(error)}: ${JSON.stringify(await target())}\n${running.output()}`);
      });
      await pollUntil(
        "three scrapes, two of the gateway's traffic, and the rules evaluated after them",
        async () => {
          const scrapes = await running.query('sum_over_time(up{job="tenure"}[1m])');
          const recorded = await running.query("stage:tenure_deployments:sum");
          // A rate needs two samples of a counter: the gateway's traffic must have been scraped twice.
          const traffic = await running.query("rate(tenure_gateway_request_duration_seconds_count[1m])");
          const enough =
            Number(scrapes.data?.result[0]?.value[1] ?? 0) >= 3 &&
            (recorded.data?.result.length ?? 0) > 0 &&
            (traffic.data?.result.length ?? 0) > 0;
          return enough ? true : undefined;
        },
        60_000,
        250,
      );
      for (const variable of variableQueries(dashboard)) {
        const selector = substituteVariables(variable.selector, ALL);
        const answer = await running.api<string[]>(`/api/v1/label/${variable.label}/values`, {
          "match[]": selector,
        });
        variableValues.set(variable.name, answer.data ?? []);
      }
    }, 180_000);

    /**
     * The demo fleet has no traffic of its own: requests go through a real `tenure gateway` that
     * reports to the server, for two demo models and one the registry does not know (a ghost).
     * The demo's endpoints (`*.svc.internal`) exist nowhere, so every answer is the gateway's 502:
     * failed requests, which gateways count and time like any other.
     */
    async function sendGatewayTraffic(registry: string, token: string, cwd: string): Promise<void> {
      gateway = await startGatewayProcess({
        cwd,
        args: [
          "--registry",
          registry,
          "--token",
          token,
          "--flush-interval",
          "200ms",
          "--upstream-timeout",
          "2s",
        ],
      });
      const url = gateway.url;
      for (const model of ["ctr-dnn", "fraud-gbm", "no-such-model"]) {
        for (let i = 0; i < 5; i++) {
          const response = await fetch(`${url}/${model}/predict`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ features: { amount: 12.5 } }),
          });
          await response.arrayBuffer();
          expect(response.status, `${model}: a failed upstream, or a ghost`).toBeGreaterThanOrEqual(400);
        }
      }
    }

    afterAll(async () => {
      await prometheus?.stop();
      await gateway?.stop();
      await serve?.stop();
      dir?.remove();
    });

    function running(): PrometheusProcess {
      if (!prometheus) throw new Error("Prometheus did not start");
      return prometheus;
    }

    /** Runs a query and says what it found, naming the query in any failure. */
    async function seriesOf(expr: string): Promise<InstantVector["result"]> {
      const answer = await running().query(expr);
      expect(answer, `${expr}\n${answer.error ?? ""}`).toMatchObject({ status: "success" });
      return answer.data.result;
    }

    it("scrapes /metrics with a read token from a credentials file: the target is up", async () => {
      const targets = await running().api<{ activeTargets: ScrapeTarget[] }>("/api/v1/targets");
      expect(targets.data.activeTargets).toEqual([
        expect.objectContaining({
          health: "up",
          lastError: "",
          labels: expect.objectContaining({ job: "tenure" }),
        }),
      ]);
    });

    it("reads only series that /metrics declares (a HELP and a TYPE line, with or without samples)", async () => {
      const response = await fetch(`${serve?.url}/metrics`, {
        headers: { authorization: `Bearer ${readToken}` },
      });
      expect(response.status).toBe(200);
      const declared = new Set(
        [...(await response.text()).matchAll(/^# TYPE (\S+) (\w+)$/gm)].flatMap(([, name, type]) =>
          type === "histogram" ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name],
        ),
      );
      const read = new Set(
        [...dashboardQueries(dashboard), ...rules].flatMap(({ expr }) =>
          [...expr.matchAll(/(?<![\w:])(tenure_\w+)(?![\w:])/g)].map((match) => match[1]),
        ),
      );
      expect(read.size).toBeGreaterThan(20);
      expect([...read].filter((name) => !declared.has(name ?? ""))).toEqual([]);
    });

    it("loads every rule of tenure-rules.yml, and each evaluates without error", async () => {
      const answer = await running().api<{
        groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
      }>("/api/v1/rules");
      const loaded = answer.data.groups.flatMap((group) => group.rules);
      expect(loaded.map((rule) => rule.name).sort()).toEqual(
        rules.map((rule) => rule.where.replace(/^(alert|recording rule) /, "")).sort(),
      );
      expect(loaded.filter((rule) => rule.health !== "ok")).toEqual([]);
    });

    it("lists the demo fleet's environments, teams and models for the dashboard's variables", () => {
      expect(variableValues.get("environment")).toEqual(
        expect.arrayContaining(["production", "staging", "eu-production"]),
      );
      expect(variableValues.get("owner_team")).toEqual(
        expect.arrayContaining(["ads", "growth", "platform", "risk", "search"]),
      );
      expect(variableValues.get("model")).toEqual(expect.arrayContaining(["fraud-gbm", "ctr-dnn"]));
    });

    /** Runs a dashboard query with `values`; a query of a repeated panel once per value of its variable. */
    async function dashboardSeries(query: NamedQuery, values: Record<string, string>) {
      const repeat = repeatedBy.get(query.where);
      const choices =
        repeat && values[repeat] === ".*" ? (variableValues.get(repeat) ?? []) : [values[repeat ?? ""]];
      const found: Array<{ value: string | undefined; series: number }> = [];
      for (const choice of choices) {
        const expr = substituteVariables(query.expr, repeat ? { ...values, [repeat]: choice ?? "" } : values);
        found.push({ value: choice, series: (await seriesOf(expr)).length });
      }
      return found;
    }

    const dashboardRuns: Array<[string, NamedQuery]> = dashboardQueries(dashboard).map((q) => [q.where, q]);

    it.each(dashboardRuns)(
      "dashboard %s parses and returns series for the whole demo fleet",
      async (_, query) => {
        const found = await dashboardSeries(query, ALL);
        expect(found.length).toBeGreaterThan(0);
        expect(found.filter((run) => run.series === 0)).toEqual([]);
      },
    );

    it.each(dashboardRuns)(
      "dashboard %s parses and returns series with production, ads and ctr-dnn chosen",
      async (_, query) => {
        const found = await dashboardSeries(query, ONE);
        expect(found.filter((run) => run.series === 0)).toEqual([]);
      },
    );

    const alerting = rules.filter((rule) => !(rule.where.replace(/^alert /, "") in QUIET_ON_THE_DEMO));
    it.each(alerting.map((rule): [string, NamedQuery] => [rule.where, rule]))(
      "%s parses and returns series for the demo fleet",
      async (_, rule) => {
        expect((await seriesOf(rule.expr)).length).toBeGreaterThan(0);
      },
    );

    it.each(Object.entries(QUIET_ON_THE_DEMO))("alert %s parses and stays quiet: %s", async (name) => {
      const rule = rules.find((r) => r.where === `alert ${name}`);
      expect(rule, `alert ${name} in tenure-rules.yml`).toBeDefined();
      expect(await seriesOf(rule?.expr ?? "")).toEqual([]);
    });

    it("fills the fleet table with every live deployment, its stage, performance and drift in words", async () => {
      const table = allPanels(dashboard).find((panel) => panel.title?.startsWith("Fleet: deployment age"));
      const overrides = (table?.fieldConfig as FieldConfig | undefined)?.overrides ?? [];
      const renamed = (table?.transformations as Transformation[] | undefined)?.find(
        (t) => t.id === "organize",
      )?.options.renameByName;
      /** What the table's value mappings show for a number, by column. */
      const wordOf = (column: string, value: string) => {
        const mapping = overrides
          .find((o) => o.matcher.options === column)
          ?.properties.find((p) => p.id === "mappings")?.value as Array<{
          options: Record<string, { text: string }>;
        }>;
        return mapping ? (mapping[0]?.options[value]?.text ?? `unmapped ${value}`) : value;
      };
      const rows = new Map<string, Record<string, string>>();
      for (const target of table?.targets ?? []) {
        const column = renamed?.[`Value #${target.refId}`] ?? String(target.refId);
        for (const series of await seriesOf(substituteVariables(target.expr ?? "", ALL))) {
          const { model, model_version, environment, owner_team, role } = series.metric;
          const key = [model, model_version, environment, owner_team, role].join(" ");
          const row = rows.get(key) ?? { deployment: key };
          row[column] = wordOf(column, series.value[1]);
          rows.set(key, row);
        }
      }
      const live = await seriesOf('count(tenure_deployment_age_seconds{job="tenure"})');
      expect(rows.size).toBe(Number(live[0]?.value[1]));
      const stages = [...rows.values()].map((row) => row.Stage);
      expect(new Set(stages)).toEqual(new Set(["fresh", "due", "expired"]));
      const words = [...rows.values()].flatMap((row) => [row.Performance, row.Drift]);
      expect(words.filter((word) => word?.startsWith("unmapped"))).toEqual([]);
      const days = (seconds: string | undefined) => `${Math.floor(Number(seconds) / 86_400)}d`;
      const lines = [...rows.values()]
        .sort((a, b) => Number(b.Age) - Number(a.Age))
        .map((row) =>
          [
            row.deployment?.padEnd(58),
            days(row.Age).padStart(5),
            days(row.TTL).padStart(5),
            `${Math.round(Number(row["Age / TTL"]) * 100)}%`.padStart(5),
            (row.Stage ?? "").padEnd(8),
            String(Math.round(Number(row.Health))).padStart(6),
            days(row["Data age"]).padStart(5),
            (row.Performance ?? "-").padEnd(18),
            row.Drift ?? "-",
          ].join("  "),
        );
      mkdirSync(CAPTURES, { recursive: true });
      writeFileSync(
        join(CAPTURES, "grafana-fleet-table.txt"),
        `${["deployment".padEnd(58), "  age", "  TTL", "  use", "stage   ", "health", " data", "performance       ", "drift"].join("  ")}\n${lines.join("\n")}\n`,
      );
    });

    it("renders each pending alert's summary and description from the demo fleet's series", async () => {
      const answer = await running().api<{
        alerts: Array<{ labels: Record<string, string>; annotations: Record<string, string>; state: string }>;
      }>("/api/v1/alerts");
      const alerts = answer.data.alerts;
      expect(alerts.length).toBeGreaterThan(0);
      for (const alert of alerts) {
        expect(alert.annotations.summary).toContain(alert.labels.model ?? "Tenure");
        // Every template rendered: no Go template error and no missing value.
        expect(alert.annotations.description).not.toMatch(/error expanding template|<no value>|\{\{/);
      }
      mkdirSync(CAPTURES, { recursive: true });
      const lines = alerts
        .map(
          (a) =>
            `${a.labels.alertname} (${a.state}, ${a.labels.severity})\n  ${a.annotations.summary}\n  ${a.annotations.description}`,
        )
        .sort();
      writeFileSync(join(CAPTURES, "prometheus-alerts.txt"), `${lines.join("\n\n")}\n`);
    });
  },
);
