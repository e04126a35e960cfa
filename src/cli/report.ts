import type { Command } from "commander";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, oneOf, type PoliciesFlag, policiesOption } from "./options.js";
import { outputMode } from "./output-mode.js";
import { palette } from "./palette.js";

const FORMATS = ["text", "markdown", "json"] as const;

interface ReportFlags extends DatabaseFlag, PoliciesFlag {
  since: string;
  team?: string;
  format: (typeof FORMATS)[number];
  json?: boolean;
}

/** The rot report: per team, what expired, is due, will breach, degraded or drifted, and the oldest. */
export function reportCommand(program: Command, io: Io): void {
  policiesOption(
    databaseOption(
      program
        .command("report")
        .summary("the rot report per team: expired, due, breaching, degraded, drifted, oldest")
        .option("--since <duration>", "the period looked back on (7d, 36h, 2w)", "7d")
        .option("--team <team>", "only this owner_team")
        .option(
          "--format <format>",
          "text (the terminal), markdown (a ticket) or json",
          oneOf("--format", FORMATS),
          "text",
        )
        .option("--json", "the same as --format json"),
    ),
  ).action(async (flags: ReportFlags) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { ReportQuery } = await import("../lifecycle/lifecycle-input.js");
    parseFlags(ReportQuery, { owner_team: flags.team, since: flags.since }, "the report is not valid");
    const client = await clientFrom(io.env, flags.database, flags.policies);
    try {
      const report = await client.report({ owner_team: flags.team, since: flags.since });
      const format = flags.json ? "json" : flags.format;
      if (format === "json") return printJson(io, report);
      const render = await import("../core/rot-report-render.js");
      if (format === "markdown") return io.out(render.renderReportMarkdown(report));
      const mode = outputMode(io.env, io.terminal?.out === true);
      io.out(render.renderReportText(report, palette(mode.color)));
    } finally {
      await client.close();
    }
  });
}
