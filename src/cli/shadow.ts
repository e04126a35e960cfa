import { type Command, Option } from "commander";
import type { ShadowComparison, ShadowView } from "../monitoring/shadow-monitor.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption } from "./options.js";

interface ShadowFlags extends DatabaseFlag {
  env?: string;
  environment?: string;
  json?: boolean;
}

export function shadowCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("shadow")
      .summary("compare a model's shadows with its primary on the same requests: a verdict")
      .argument("<model>", "the model")
      .option("--env <environment>", "the environment (default production)")
      // The API's word for it, accepted too.
      .addOption(new Option("--environment <environment>").hideHelp())
      .option("--json", "print {model, environment, primary, shadows} as JSON"),
  ).action(async (model: string, flags: ShadowFlags) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { ModelNameParams } = await import("../registry/registry-input.js");
    const { ShadowQuery } = await import("../monitoring/shadow-input.js");
    const query = parseFlags(
      ModelNameParams.extend(ShadowQuery.shape),
      { name: model, environment: flags.env ?? flags.environment },
      "the shadow query is not valid",
      { name: "MODEL" },
    );
    const client = await clientFrom(io.env, flags.database);
    try {
      const view = await client.shadow(query.name, query.environment);
      if (flags.json) return printJson(io, view);
      io.out(report(view));
    } finally {
      await client.close();
    }
  });
}

function report(view: ShadowView): string {
  const head = view.primary
    ? `${view.model} in ${view.environment}: primary ${view.primary.model_version} (deployment ${view.primary.deployment_id})`
    : `${view.model} in ${view.environment}: no live primary`;
  if (view.shadows.length === 0) return `${head}\nno live shadow of ${view.model} in ${view.environment}\n`;
  return `${[head, ...view.shadows.map(shadowLines)].join("\n\n")}\n`;
}

function shadowLines(s: ShadowComparison): string {
  const lines = [
    `shadow ${s.model_version} (deployment ${s.deployment_id}): ${s.pairs} pairs, ${s.labelled} labelled`,
  ];
  if (s.agreement_rate !== null)
    lines.push(`  agreement        ${percent(s.agreement_rate)} of ${s.both_answered} answered by both`);
  if (s.mean_abs_difference !== null) {
    const relative =
      s.mean_rel_difference === null ? "" : `, mean relative ${percent(s.mean_rel_difference)}`;
    lines.push(`  difference       mean absolute ${round(s.mean_abs_difference)}${relative}`);
  }
  if (s.pairs > 0) {
    lines.push(
      `  latency p50/p99  primary ${ms(s.primary_latency_ms.p50)} / ${ms(s.primary_latency_ms.p99)}, shadow ${ms(s.shadow_latency_ms.p50)} / ${ms(s.shadow_latency_ms.p99)}`,
      `  shadow errors    ${s.shadow_errors} of ${s.pairs}`,
    );
  }
  lines.push(`  verdict          ${verdictLine(s)}`);
  return lines.join("\n");
}

/** `candidate_better: McNemar's exact test gives p = 0.0012 < 0.05 (b = 3, c = 20; accuracy 83.0% → 92.0%)`. */
function verdictLine(s: ShadowComparison): string {
  const v = s.verdict;
  const figures: string[] = [];
  if (v.kind === "classification" && v.primary_accuracy !== null && v.candidate_accuracy !== null) {
    figures.push(
      `primary right, candidate wrong ${v.primary_right_candidate_wrong}; the reverse ${v.primary_wrong_candidate_right}`,
      `accuracy ${percent(v.primary_accuracy)} → ${percent(v.candidate_accuracy)}`,
    );
  }
  if (v.kind === "regression" && v.primary_mean_abs_error !== null && v.candidate_mean_abs_error !== null) {
    figures.push(
      `mean absolute error ${round(v.primary_mean_abs_error)} → ${round(v.candidate_mean_abs_error)}`,
    );
  }
  return `${v.verdict}: ${v.reason}${figures.length > 0 ? ` (${figures.join("; ")})` : ""}`;
}

function percent(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function round(x: number): string {
  return String(Math.round(x * 10_000) / 10_000);
}

function ms(x: number | null): string {
  return x === null ? "-" : `${round(x)} ms`;
}
