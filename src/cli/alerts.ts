import type { Command } from "commander";
import { ALERT_STATES } from "../core/words.js";
import type { AlertView } from "../lifecycle/lifecycle-view.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { shortTime, table } from "./format.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, oneOf, positiveInt } from "./options.js";

const STATES = [...ALERT_STATES, "all"] as const;

export function alertsCommand(program: Command, io: Io): void {
  const alerts = program.command("alerts").summary("list alerts; close one a sweep never closes");
  databaseOption(
    alerts
      .command("ls", { isDefault: true })
      .summary("list alerts, open ones by default (`tenure alerts` alone lists them)")
      .option("--state <state>", "open, resolved or all", oneOf("--state", STATES), "open")
      .option("--team <team>", "only this owner_team")
      .option("--limit <n>", "at most this many", positiveInt("--limit", 500), 100)
      .option("--json", "print {items} as JSON"),
  ).action(
    async (
      flags: DatabaseFlag & { state: (typeof STATES)[number]; team?: string; limit: number; json?: boolean },
    ) => {
      // Validated before either path opens anything: the database and a server refuse alike.
      const { AlertsQuery } = await import("../lifecycle/lifecycle-input.js");
      const query = parseFlags(
        AlertsQuery,
        {
          state: flags.state === "all" ? undefined : flags.state,
          owner_team: flags.team,
          limit: String(flags.limit),
        },
        "the alert list is not valid",
      );
      const client = await clientFrom(io.env, flags.database);
      try {
        const page = await client.alerts({ ...query, cursor: undefined });
        if (flags.json) return printJson(io, { items: page.items });
        if (page.items.length === 0)
          return io.out(`no ${flags.state === "all" ? "" : `${flags.state} `}alerts\n`);
        io.out(
          table(["ID", "DEPLOYMENT", "KIND", "SEVERITY", "OPENED", "STATE", "SUMMARY"], page.items.map(row)),
        );
      } finally {
        await client.close();
      }
    },
  );
  resolveCommand(alerts, io);
}

function resolveCommand(alerts: Command, io: Io): void {
  databaseOption(
    alerts
      .command("resolve")
      .summary("close an alert no sweep closes (canary_failed, canary_paused, guardrail)")
      .argument("<id>", "the alert's id (tenure alerts)")
      .requiredOption("--note <text>", "what was done about it; recorded with who and when")
      .option("--json", "print the resolved alert as JSON"),
  ).action(async (id: string, flags: DatabaseFlag & { note: string; json?: boolean }) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const [{ ResolveAlertBody }, { IdParams }] = await Promise.all([
      import("../lifecycle/lifecycle-input.js"),
      import("../registry/registry-input.js"),
    ]);
    const params = parseFlags(IdParams, { id }, "the alert id is not valid");
    const body = parseFlags(ResolveAlertBody, { note: flags.note }, "the resolution is not valid");
    const client = await clientFrom(io.env, flags.database);
    try {
      const alert = await client.resolveAlert(params.id, body.note);
      if (flags.json) return printJson(io, alert);
      io.out(`alert ${alert.id} (${alert.kind}, deployment ${alert.deployment_id}) resolved\n`);
    } finally {
      await client.close();
    }
  });
}

function row(a: AlertView): string[] {
  const state = a.state === "open" ? "open" : `resolved (${a.resolution})`;
  return [
    String(a.id),
    String(a.deployment_id),
    a.kind,
    a.severity,
    shortTime(a.opened_at),
    state,
    a.summary,
  ];
}
