import type { Command } from "commander";
import { describeAge } from "../core/age.js";
import { formatSlope } from "../core/decay/forecast.js";
import { formatDuration } from "../core/duration.js";
import type { TimelineView } from "../lifecycle/lifecycle.js";
import type { DeploymentView, EventView } from "../registry/deployment-view.js";
import { ageBar } from "./age-bar.js";
import { clientFrom } from "./client.js";
import { compactCount, shortTime, stageLabel, table } from "./format.js";
import { type Io, printJson } from "./io.js";
import { metricChart } from "./metric-chart.js";
import {
  type DatabaseFlag,
  databaseOption,
  deploymentId,
  type PoliciesFlag,
  policiesOption,
} from "./options.js";
import { type OutputMode, outputMode } from "./output-mode.js";
import { type Palette, palette } from "./palette.js";

export function showCommand(program: Command, io: Io): void {
  policiesOption(
    databaseOption(
      program
        .command("show")
        .summary("show one deployment: its clocks, stage and event history")
        .argument("<id>", "the deployment id", deploymentId)
        .option("--json", "print {deployment, events} as JSON"),
    ),
  ).action(async (id: number, flags: DatabaseFlag & PoliciesFlag & { json?: boolean }) => {
    const client = await clientFrom(io.env, flags.database, flags.policies);
    try {
      const [deployment, events, timeline] = await Promise.all([
        client.get(id),
        client.events(id),
        client.timeline(id),
      ]);
      if (flags.json)
        return printJson(io, { deployment, events, metrics: timeline.metrics, drift: timeline.drift });
      const d = deployment;
      const mode = outputMode(io.env, io.terminal?.out === true);
      const c = palette(mode.color);
      const stageKey = d.age.exempt ? null : d.age.stage;
      const lines = [
        `deployment ${d.id}: ${d.model} ${d.model_version} in ${d.environment} (${d.role}, ${d.status})`,
        `  team             ${d.owner_team}`,
        `  deployed         ${shortTime(d.deployment_date)}${d.ended_at ? `, ended ${shortTime(d.ended_at)}` : ""}`,
        `  trained through  ${shortTime(d.training_data_cutoff)}`,
        `  deployment age   ${ageDrawing(timeline, d.age.ttl_fraction, mode, c, stageKey)}${describeAge(d.age)}, policy ${d.age.policy}${d.age.exempt ? " (exempt from age findings)" : ""}`,
        `  data age         ${formatDuration(d.age.data_age_seconds)}`,
        `  performance age  ${d.age.performance_age_seconds === null ? "no metrics" : formatDuration(d.age.performance_age_seconds)}`,
        `  stage            ${c.stage(stageLabel(d), stageKey)}`,
      ];
      if (d.status === "active") lines.push(`  forecast         ${forecastLine(d.age)}`);
      if (d.age.health_score !== null)
        lines.push(
          `  health           ${d.age.health_score} (${c.verdict(String(d.age.verdict), d.age.verdict)})`,
        );
      for (const m of timeline.metrics) {
        lines.push(`  ${m.name.padEnd(16)} ${metricSummary(m, c)}`, ...chartLines(m, c));
      }
      lines.push(
        `  drift            ${c.state(timeline.drift.state ?? "not monitored", timeline.drift.state)}${timeline.drift.error ? `: ${timeline.drift.error}` : ""}`,
      );
      if (d.endpoint) lines.push(`  endpoint         ${d.endpoint}`);
      lines.push(`  last seen        ${lastSeen(d)}`);
      if (d.reported_version !== null) {
        lines.push(
          `  reported version ${c.bad(d.reported_version)} (its upstream says so; the registry says ${d.model_version})`,
        );
      }
      const tags = Object.entries(d.tags);
      if (tags.length) lines.push(`  tags             ${tags.map(([k, v]) => `${k}=${v}`).join(" ")}`);
      io.out(`${lines.join("\n")}\n\nevents\n`);
      io.out(table(["AT", "EVENT", "BY", "DETAIL"], events.map(eventRow)));
    } finally {
      await client.close();
    }
  });
}

/** The forecast for people: "auc breach in ~26d (18d–41d), −0.0021 a day over 3 deployments". */
export function forecastLine(age: Pick<DeploymentView["age"], "forecast" | "forecast_reason">): string {
  const f = age.forecast;
  if (!f) return `none: ${age.forecast_reason ?? "no sweep has forecast it yet"}`;
  const [low, high] = f.interval_seconds;
  const when =
    f.breach_in_seconds === 0
      ? "breach now by the curve"
      : `breach in ~${formatDuration(f.breach_in_seconds)}`;
  return `${f.metric} ${when} (${formatDuration(low)}–${high === null ? "never" : formatDuration(high)}), ${formatSlope(f.slope_per_day)} a day over ${f.based_on_deployments} deployments`;
}

/** When it last showed life, and how: gateway traffic, a heartbeat, or neither. */
function lastSeen(d: DeploymentView): string {
  const parts = [
    d.last_traffic_at ? `traffic ${shortTime(d.last_traffic_at)}` : null,
    d.last_heartbeat_at ? `heartbeat ${shortTime(d.last_heartbeat_at)}` : null,
  ].filter((p) => p !== null);
  return parts.length ? parts.join(", ") : "never: no traffic through a gateway, no heartbeat";
}

type Metric = TimelineView["metrics"][number];

/** Under the metric's line, where its values start: `  auc              `. */
const INDENT = " ".repeat(19);

const round = (x: number) => String(Math.round(x * 10_000) / 10_000);

/**
 * On a terminal, the age bar before the words that say the same: the review point from the
 * timeline's clocks (where due begins between deployment and expiry). In a pipe, nothing.
 */
function ageDrawing(
  timeline: TimelineView,
  ttlFraction: number,
  mode: OutputMode,
  c: Palette,
  stage: string | null,
): string {
  if (!mode.drawings) return "";
  const start = Date.parse(timeline.clocks.deployment_date);
  const reviewAt =
    (Date.parse(timeline.clocks.due_at) - start) / (Date.parse(timeline.clocks.expires_at) - start);
  const bar = ageBar(ttlFraction, Number.isFinite(reviewAt) ? reviewAt : null);
  return `${bar.replace(/[█▉▊▋▌▍▎▏]+/g, (run) => c.stage(run, stage)).replace(/·+/g, (run) => c.dim(run))}  `;
}

/**
 * The metric over time: a sparkline with the latest value and how many windows, then a line
 * under it that marks (`▔`) each span on the wrong side of the target and says where the target
 * falls on the sparkline's scale. Plain characters in a pipe; coloured cells on a terminal.
 */
function chartLines(m: Metric, c: Palette): string[] {
  const chart = metricChart(m);
  if (chart.spark === "" || !chart.latest) return [];
  // Runs of cells on one side of the line share one colour code.
  const spark =
    chart.line === null
      ? chart.spark
      : [...chart.spark]
          .map((cell, i) => ({ cell, miss: chart.misses[i] === true }))
          .reduce<{ text: string; miss: boolean }[]>((runs, { cell, miss }) => {
            const last = runs.at(-1);
            if (last && last.miss === miss) last.text += cell;
            else runs.push({ text: cell, miss });
            return runs;
          }, [])
          .map((run) => (run.miss ? c.bad(run.text) : c.good(run.text)))
          .join("");
  const since = chart.first ? ` since ${chart.first.slice(0, 10)}` : "";
  const lines = [
    `${INDENT}${spark}  latest ${round(chart.latest.value)} · ${chart.windows} window${chart.windows === 1 ? "" : "s"}${since}`,
  ];
  if (chart.line === null || chart.lineKind === null) return lines;
  const side = m.direction === "lower" ? "above" : "below";
  const missed = chart.below === 0 ? "none" : `${chart.below} of ${chart.windows} windows`;
  lines.push(
    `${INDENT}${c.bad(chart.under)}  ▔ ${side} ${chart.lineKind} ${round(chart.line)} (${chart.lineLevel} on this scale): ${missed}`,
  );
  return lines;
}

/** `0.91 on 1.2k samples (2027-01-05), target 0.92 (baseline 0.95): degraded`. */
function metricSummary(m: Metric, c: Palette): string {
  const last = m.windows.filter((w) => w.state !== "pending").at(-1) ?? m.windows.at(-1);
  if (!last) return "no points";
  const samples = compactCount(last.samples);
  const against = [
    m.target !== null
      ? `target ${round(m.target)}`
      : m.threshold !== null
        ? `threshold ${round(m.threshold)}`
        : "",
    m.baseline !== null ? `baseline ${round(m.baseline)}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return `${round(last.mean)} on ${samples} samples (${last.start.slice(0, 10)})${against ? `; ${against}` : ""}${m.state ? `: ${c.state(m.state, m.state)}` : ""}`;
}

function eventRow(e: EventView): string[] {
  const detail = Object.entries(e.data)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return [shortTime(e.at), e.type, e.actor, detail];
}
