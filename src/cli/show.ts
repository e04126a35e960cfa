import type { Command } from "commander";
import { describeAge } from "../core/age.js";
import { formatDuration } from "../core/duration.js";
import type { TimelineView } from "../lifecycle/lifecycle.js";
import type { EventView } from "../registry/deployment-view.js";
import { clientFrom } from "./client.js";
import { shortTime, stageLabel, table } from "./format.js";
import { type Io, printJson } from "./io.js";
import {
  type DatabaseFlag,
  databaseOption,
  deploymentId,
  type PoliciesFlag,
  policiesOption,
} from "./options.js";

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
      const lines = [
        `deployment ${d.id}: ${d.model} ${d.model_version} in ${d.environment} (${d.role}, ${d.status})`,
        `  team             ${d.owner_team}`,
        `  deployed         ${shortTime(d.deployment_date)}${d.ended_at ? `, ended ${shortTime(d.ended_at)}` : ""}`,
        `  trained through  ${shortTime(d.training_data_cutoff)}`,
        `  deployment age   ${describeAge(d.age)}, policy ${d.age.policy}${d.age.exempt ? " (exempt from age findings)" : ""}`,
        `  data age         ${formatDuration(d.age.data_age_seconds)}`,
        `  performance age  ${d.age.performance_age_seconds === null ? "no metrics" : formatDuration(d.age.performance_age_seconds)}`,
        `  stage            ${stageLabel(d)}`,
      ];
      if (d.age.health_score !== null)
        lines.push(`  health           ${d.age.health_score} (${d.age.verdict})`);
      for (const m of timeline.metrics) lines.push(`  ${m.name.padEnd(16)} ${metricSummary(m)}`);
      lines.push(
        `  drift            ${timeline.drift.state ?? "not monitored"}${timeline.drift.error ? `: ${timeline.drift.error}` : ""}`,
      );
      if (d.endpoint) lines.push(`  endpoint         ${d.endpoint}`);
      const tags = Object.entries(d.tags);
      if (tags.length) lines.push(`  tags             ${tags.map(([k, v]) => `${k}=${v}`).join(" ")}`);
      io.out(`${lines.join("\n")}\n\nevents\n`);
      io.out(table(["AT", "EVENT", "BY", "DETAIL"], events.map(eventRow)));
    } finally {
      await client.close();
    }
  });
}

/** `0.91 on 1.2k samples (2027-01-05), target 0.92 (baseline 0.95): degraded`. */
function metricSummary(m: TimelineView["metrics"][number]): string {
  const last = m.windows.filter((w) => w.state !== "pending").at(-1) ?? m.windows.at(-1);
  if (!last) return "no points";
  const round = (x: number) => String(Math.round(x * 10_000) / 10_000);
  const samples = last.samples >= 1000 ? `${(last.samples / 1000).toFixed(1)}k` : String(last.samples);
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
  return `${round(last.mean)} on ${samples} samples (${last.start.slice(0, 10)})${against ? `; ${against}` : ""}${m.state ? `: ${m.state}` : ""}`;
}

function eventRow(e: EventView): string[] {
  const detail = Object.entries(e.data)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  return [shortTime(e.at), e.type, e.actor, detail];
}
