import type { Command } from "commander";
import type { GhostView } from "../monitoring/traffic-monitor.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { shortTime, table } from "./format.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, positiveInt } from "./options.js";

export function ghostsCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("ghosts")
      .summary("models the registry does not know, asked for at gateways or seen by syncs")
      .option("--env <environment>", "only ghosts asked for in this environment")
      .option("--limit <n>", "at most this many", positiveInt("--limit", 500), 100)
      .option("--json", "print {items} as JSON"),
  ).action(async (flags: DatabaseFlag & { env?: string; limit: number; json?: boolean }) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { GhostsQuery } = await import("../monitoring/traffic-input.js");
    const query = parseFlags(
      GhostsQuery,
      { environment: flags.env, limit: String(flags.limit) },
      "the ghost list is not valid",
    );
    const client = await clientFrom(io.env, flags.database);
    try {
      const page = await client.ghosts(query);
      if (flags.json) return printJson(io, { items: page.items });
      if (page.items.length === 0) {
        return io.out(
          `no ghosts${flags.env ? ` in ${flags.env}` : ""}: every request a gateway reported was for a registered model\n`,
        );
      }
      io.out(
        table(
          ["MODEL", "ENVIRONMENT", "REQUESTS", "FIRST SEEN", "LAST SEEN", "GATEWAY"],
          page.items.map(row),
        ),
      );
    } finally {
      await client.close();
    }
  });
}

function row(g: GhostView): string[] {
  return [
    g.model,
    g.environment,
    String(g.requests),
    shortTime(g.first_seen),
    shortTime(g.last_seen),
    g.last_gateway,
  ];
}
