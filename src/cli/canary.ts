import type { Command } from "commander";
import { formatDuration } from "../core/duration.js";
import type { CanaryAnalysisView, CanaryView } from "../gateway/canaries.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { shortTime, table } from "./format.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, positiveInt } from "./options.js";

interface CanaryFlags extends DatabaseFlag {
  env: string;
  limit?: number;
  json?: boolean;
}

export function canaryCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("canary")
      .summary("show a model's canary: its state, weight, and analyses with their figures")
      .argument("<model>", "the model")
      .option("--env <environment>", "the environment", "production")
      .option("--limit <n>", "analyses to show, newest first (default 20)", positiveInt("--limit", 500))
      .option("--json", "print the canary with its analyses as JSON"),
  ).action(async (model: string, flags: CanaryFlags) => {
    const { ModelNameParams, CanaryQuery } = await import("../registry/registry-input.js");
    const query = parseFlags(
      ModelNameParams.extend(CanaryQuery.shape),
      {
        name: model,
        environment: flags.env,
        limit: flags.limit === undefined ? undefined : String(flags.limit),
      },
      "the canary query is not valid",
      { name: "MODEL" },
    );
    const client = await clientFrom(io.env, flags.database);
    try {
      const canary = await client.canary(query.name, query.environment, query.limit);
      if (flags.json) return printJson(io, canary);
      io.out(describe(canary));
      if (canary.analyses.length === 0) io.out("\nno analysis yet\n");
      else io.out(`\nanalyses, newest first\n${table(HEADERS, canary.analyses.map(analysisRow))}`);
    } finally {
      await client.close();
    }
  });
}

function describe(c: CanaryView): string {
  const d = c.deployment;
  const steps = c.steps
    ? `${c.steps.join(" → ")} (step ${c.step_index + 1} of ${c.steps.length})`
    : "none: it never promotes";
  const lines = [
    `canary ${c.model} ${d.model_version} in ${c.environment}: deployment ${d.id}, ${c.state}${d.status === "active" ? "" : ` (${d.status})`}`,
    `  weight               ${c.weight === null ? "-" : `${c.weight}%`}${c.sticky_header ? `, sticky by ${c.sticky_header}` : ""}`,
    `  steps                ${steps}`,
    `  analysis             every ${formatDuration(c.config.interval_seconds)}, min ${c.config.min_requests} requests a side`,
    `  labels               weighed from ${c.config.min_labels} labelled requests a side`,
    `  failures             ${c.failures} of ${c.config.failure_limit}`,
    `  inconclusive         ${c.inconclusive_streak} in a row of ${c.config.inconclusive_limit}`,
  ];
  if (c.next_analysis_at) lines.push(`  next analysis        ${shortTime(c.next_analysis_at)}`);
  return `${lines.join("\n")}\n`;
}

const HEADERS = ["AT", "VERDICT", "ACTION", "WEIGHT", "PRIMARY", "CANARY", "LABELS", "WHY"];

function analysisRow(a: CanaryAnalysisView): string[] {
  const side = (s: CanaryAnalysisView["figures"]["primary"]) =>
    `${s.requests} req, ${s.error_rate === null ? "-" : `${(s.error_rate * 100).toFixed(2)}%`} err, p99 ${s.p99_ms === null ? "-" : `${s.p99_ms.toFixed(0)}ms`}`;
  return [
    shortTime(a.at),
    a.verdict,
    a.action,
    `${a.weight}%`,
    side(a.figures.primary),
    side(a.figures.canary),
    labels(a.figures.labels),
    a.reasons.join("; "),
  ];
}

/** The label comparison in a cell: the labels a side, each side's error, and the test's p-value. */
function labels(l: CanaryAnalysisView["figures"]["labels"]): string {
  if (!l) return "-";
  const error = (s: typeof l.primary) =>
    s.error_rate !== null
      ? `${(s.error_rate * 100).toFixed(1)}%`
      : s.mean_abs_error !== null
        ? `mae ${s.mean_abs_error.toPrecision(3)}`
        : "-";
  const counts = `${l.canary.labelled}/${l.primary.labelled} labelled`;
  if (!l.counted) return `not counted: ${counts}, min ${l.min_labels}`;
  const test = l.test === "fisher_exact" ? "Fisher" : "Welch t";
  const p = l.p_value === null ? "-" : l.p_value < 0.001 ? l.p_value.toExponential(1) : l.p_value.toFixed(3);
  return `${error(l.canary)} vs ${error(l.primary)}, ${counts}, ${test} p=${p}${l.worse ? ", worse" : ""}`;
}
