import type { Command } from "commander";
import { parseDuration } from "../core/duration.js";
import type { AuditView } from "../registry/audit-trail.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { shortTime, table } from "./format.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, positiveInt } from "./options.js";

interface AuditFlags extends DatabaseFlag {
  since?: string;
  actor?: string;
  action?: string;
  limit: number;
  cursor?: string;
  json?: boolean;
}

export function auditCommand(program: Command, io: Io): void {
  databaseOption(
    program
      .command("audit")
      .summary("who changed what, when, from where, before and after (newest first)")
      .option("--since <when>", "only changes since this long ago (7d, 12h) or this instant (ISO 8601)")
      .option("--actor <actor>", "only this actor, such as token:ci or cli:alice")
      .option("--action <action>", "only this action, such as deployment.retire or token.create")
      .option("--limit <n>", "at most this many", positiveInt("--limit", 500), 100)
      .option("--cursor <cursor>", "the page after this one (the cursor a page ends with)")
      .option("--json", "print {items, next_cursor} as JSON, with before and after"),
  ).action(async (flags: AuditFlags) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { AuditListQuery } = await import("../registry/audit-input.js");
    const query = parseFlags(
      AuditListQuery,
      {
        since: sinceOf(flags.since),
        actor: flags.actor,
        action: flags.action,
        limit: String(flags.limit),
        cursor: flags.cursor,
      },
      "the audit query is not valid",
    );
    const client = await clientFrom(io.env, flags.database);
    try {
      const page = await client.audit(query);
      if (flags.json) return printJson(io, page);
      if (page.items.length === 0) return io.out("no changes recorded\n");
      io.out(table(["ID", "AT", "ACTOR", "ACTION", "TARGET", "FROM"], page.items.map(row)));
      if (page.next_cursor !== null) io.out(`more: tenure audit --cursor ${page.next_cursor}\n`);
    } finally {
      await client.close();
    }
  });
}

/** `7d` is that long before now; anything else is left to the schema, which takes an instant. */
function sinceOf(flag: string | undefined): string | undefined {
  if (flag === undefined) return undefined;
  const seconds = parseDuration(flag);
  return seconds === undefined ? flag : new Date(Date.now() - seconds * 1000).toISOString();
}

function row(entry: AuditView): string[] {
  const from = entry.origin === "http" ? (entry.client_ip ?? "http") : entry.origin;
  return [String(entry.id), shortTime(entry.at), entry.actor, entry.action, entry.target ?? "-", from];
}
