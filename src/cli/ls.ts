import type { Command } from "commander";
import { AGE_STAGES, type AgeStage } from "../core/age.js";
import { type DeploymentRole, type DeploymentStatus, ROLES, STATUSES } from "../core/words.js";
import type { DeploymentView } from "../registry/deployment-view.js";
import { clientFrom } from "./client.js";
import { DeploymentTable } from "./deployment-table.js";
import { parseFlags } from "./flag-input.js";
import { type Io, printJson } from "./io.js";
import {
  type DatabaseFlag,
  databaseOption,
  oneOf,
  type PoliciesFlag,
  policiesOption,
  positiveInt,
} from "./options.js";
import { outputMode } from "./output-mode.js";
import type { ListOptions, TenureClient } from "./tenure-client.js";

interface LsFlags extends DatabaseFlag, PoliciesFlag {
  env?: string;
  team?: string;
  model?: string;
  role?: DeploymentRole;
  status?: DeploymentStatus;
  stage?: AgeStage;
  all?: boolean;
  limit: number;
  cursor?: string;
  allPages?: boolean;
  json?: boolean;
}

/** Pages the API returns at most; `ls` follows next_cursor until it has --limit rows. */
const PAGE = 500;

export function lsCommand(program: Command, io: Io): void {
  policiesOption(
    databaseOption(
      program
        .command("ls")
        .summary("list live deployments, oldest first")
        .option("--env <environment>", "only this environment")
        .option("--team <team>", "only this owner_team")
        .option("--model <model>", "only this model")
        .option("--role <role>", "primary, shadow or canary", oneOf("--role", ROLES))
        .option("--stage <stage>", "fresh, due or expired", oneOf("--stage", AGE_STAGES))
        .option("--status <status>", "this status instead of active", oneOf("--status", STATUSES))
        .option("--all", "ended deployments too")
        .option(
          "--limit <n>",
          "at most this many rows (with --all-pages: rows per page)",
          positiveInt("--limit"),
          1000,
        )
        .option("--cursor <cursor>", "start after this next_cursor of an earlier --json page")
        .option(
          "--all-pages",
          "every row, printed page by page as it arrives (--json: one {items, next_cursor} line a page)",
        )
        .option("--json", "print {items, next_cursor} as JSON"),
    ),
  ).action(async (flags: LsFlags) => {
    // Validated before either path opens anything: the database and a server refuse alike. The
    // CLI's --limit is rows in all, across pages: not the API's limit of one page.
    const { ListDeploymentsQuery } = await import("../registry/registry-input.js");
    const query = parseFlags(
      ListDeploymentsQuery.omit({ limit: true }),
      {
        environment: flags.env,
        owner_team: flags.team,
        model: flags.model,
        role: flags.role,
        stage: flags.stage,
        status: flags.status ?? (flags.all ? undefined : "active"),
        cursor: flags.cursor,
      },
      "the list is not valid",
      { model: "--model" },
    );
    // Each page says where it starts: --cursor the first, next_cursor the rest.
    const options: ListOptions = { ...query, cursor: undefined };
    const client = await clientFrom(io.env, flags.database, flags.policies);
    try {
      if (flags.allPages) return await streamPages(io, client, options, flags);
      const items: DeploymentView[] = [];
      let cursor = flags.cursor;
      do {
        const page = await client.list({
          ...options,
          limit: Math.min(PAGE, flags.limit - items.length),
          cursor,
        });
        items.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor && items.length < flags.limit);
      // The last page asked for exactly the rows still wanted: its cursor follows the last shown.
      if (flags.json) printJson(io, { items, next_cursor: cursor ?? null });
      else if (items.length === 0) io.out("no deployments match\n");
      else
        io.out(
          (await new DeploymentTable(client, outputMode(io.env, io.terminal?.out === true)).render(items))
            .text,
        );
      if (cursor) await tellTheRest(io, client, options, cursor, items.length, flags);
    } finally {
      await client.close();
    }
  });
}

/** Every page, each printed as it arrives: rows under one header, or one JSON line a page. */
async function streamPages(
  io: Io,
  client: TenureClient,
  options: ListOptions,
  flags: LsFlags,
): Promise<void> {
  let cursor = flags.cursor;
  let widths: number[] | undefined;
  const deploymentTable = new DeploymentTable(client, outputMode(io.env, io.terminal?.out === true));
  do {
    const page = await client.list({ ...options, limit: Math.min(PAGE, flags.limit), cursor });
    cursor = page.next_cursor ?? undefined;
    if (flags.json) {
      io.out(`${JSON.stringify(page)}\n`);
      continue;
    }
    if (page.items.length === 0) {
      if (!widths) io.out("no deployments match\n");
      continue;
    }
    const drawn = await deploymentTable.render(page.items, widths);
    // The header once, above the first page; later pages keep the columns at least as wide.
    io.out(widths ? drawn.text.slice(drawn.text.indexOf("\n") + 1) : drawn.text);
    widths = drawn.widths;
  } while (cursor);
}

/** On stderr, so that stdout stays the table or the JSON: how many rows were left out, and how to see them. */
async function tellTheRest(
  io: Io,
  client: TenureClient,
  options: ListOptions,
  cursor: string,
  shown: number,
  flags: LsFlags,
): Promise<void> {
  const rest = await countFrom(client, options, cursor, flags.cursor === undefined ? shown : undefined);
  const total = shown + rest;
  const more = flags.json ? "--cursor NEXT_CURSOR for the next rows" : `--limit ${total}`;
  io.err(
    `showing ${shown} of ${total} deployments; ${rest} more match: tenure ls --all-pages shows every one (or ${more})\n`,
  );
}

/**
 * How many deployments match past `cursor`, after `shownFromStart` rows from the list's start.
 * GET /v1/fleet counts the live ones by stage, team and environment, which answers the usual
 * lists (everything live, one team's, one environment's, one stage of them) in one request; any
 * other filter, or a list that began at a --cursor, is counted by reading the rest of the list a
 * page at a time, which the database and a server answer alike.
 */
async function countFrom(
  client: TenureClient,
  options: ListOptions,
  cursor: string,
  shownFromStart: number | undefined,
): Promise<number> {
  const byFleet = options.status === "active" && !options.model && !options.role;
  if (shownFromStart !== undefined && byFleet && !(options.owner_team && options.environment)) {
    const fleet = await client.fleet();
    const stages = options.owner_team
      ? fleet.teams[options.owner_team]
      : options.environment
        ? fleet.environments[options.environment]
        : fleet.stages;
    const matching = options.stage
      ? (stages?.[options.stage] ?? 0)
      : Object.values(stages ?? {}).reduce((sum, n) => sum + n, 0);
    // Counted a moment after the rows were read: never fewer than the one next_cursor promises.
    return Math.max(1, matching - shownFromStart);
  }
  let rest = 0;
  for (let next: string | undefined = cursor; next; ) {
    const page = await client.list({ ...options, limit: PAGE, cursor: next });
    rest += page.items.length;
    next = page.next_cursor ?? undefined;
  }
  return rest;
}
