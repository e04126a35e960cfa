import type { Command } from "commander";
import { AGE_STAGES, type AgeStage } from "../core/age.js";
import { type DeploymentRole, type DeploymentStatus, ROLES, STATUSES } from "../core/words.js";
import type { DeploymentView } from "../registry/deployment-view.js";
import { clientFrom, type ListOptions } from "./client.js";
import { DEPLOYMENT_HEADERS, deploymentRows, table } from "./format.js";
import { type Io, printJson } from "./io.js";
import {
  type DatabaseFlag,
  databaseOption,
  oneOf,
  type PoliciesFlag,
  policiesOption,
  positiveInt,
} from "./options.js";

interface LsFlags extends DatabaseFlag, PoliciesFlag {
  env?: string;
  team?: string;
  model?: string;
  role?: DeploymentRole;
  status?: DeploymentStatus;
  stage?: AgeStage;
  all?: boolean;
  limit: number;
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
        .option("--limit <n>", "at most this many rows", positiveInt("--limit"), 1000)
        .option("--json", "print {items} as JSON"),
    ),
  ).action(async (flags: LsFlags) => {
    const client = await clientFrom(io.env, flags.database, flags.policies);
    try {
      const options: ListOptions = {
        environment: flags.env,
        owner_team: flags.team,
        model: flags.model,
        role: flags.role,
        stage: flags.stage,
        status: flags.status ?? (flags.all ? undefined : "active"),
      };
      const items: DeploymentView[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.list({
          ...options,
          limit: Math.min(PAGE, flags.limit - items.length),
          cursor,
        });
        items.push(...page.items);
        cursor = page.next_cursor ?? undefined;
      } while (cursor && items.length < flags.limit);
      if (flags.json) return printJson(io, { items });
      if (items.length === 0) {
        io.out("no deployments match\n");
        return;
      }
      io.out(table(DEPLOYMENT_HEADERS, deploymentRows(items)));
    } finally {
      await client.close();
    }
  });
}
