import type { Command } from "commander";
import { describeAge } from "../core/age.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { table } from "./format.js";
import { GateFailed } from "./gate-failed.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, oneOf, type PoliciesFlag, policiesOption } from "./options.js";

const FAIL_ON = ["due", "expired", "stale"] as const;

interface CheckFlags extends DatabaseFlag, PoliciesFlag {
  env?: string;
  team?: string;
  failOn: (typeof FAIL_ON)[number];
  json?: boolean;
}

/** The CI gate: exits 1 when a live deployment in scope is at or past the stage. */
export function checkCommand(program: Command, io: Io): void {
  policiesOption(
    databaseOption(
      program
        .command("check")
        .summary("CI gate: exit 1 when a live deployment is expired (or --fail-on due|stale)")
        .option("--env <environment>", "only this environment")
        .option("--team <team>", "only this owner_team")
        .option(
          "--fail-on <stage>",
          "due (due or expired), expired, or stale (data too old)",
          oneOf("--fail-on", FAIL_ON),
          "expired",
        )
        .option("--json", "print {ok, fail_on, checked, offenders} as JSON"),
    ),
  ).action(async (flags: CheckFlags) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { CheckQuery } = await import("../lifecycle/lifecycle-input.js");
    const query = parseFlags(
      CheckQuery,
      { owner_team: flags.team, environment: flags.env, fail_on: flags.failOn },
      "the check is not valid",
    );
    const client = await clientFrom(io.env, flags.database, flags.policies);
    let failed: boolean;
    try {
      const result = await client.check(query);
      failed = !result.ok;
      if (flags.json) printJson(io, result);
      else if (result.ok)
        io.out(
          `ok: none of ${result.checked} live deployment(s) is ${flags.failOn === "due" ? "due or expired" : flags.failOn}\n`,
        );
      else {
        io.out(
          table(
            ["ID", "MODEL", "VERSION", "ENV", "TEAM", "AGE", "WHY"],
            result.offenders.map((d) => [
              String(d.id),
              d.model,
              d.model_version,
              d.environment,
              d.owner_team,
              describeAge(d.age),
              d.reasons.join(", "),
            ]),
          ),
        );
      }
    } finally {
      await client.close();
    }
    if (failed) throw new GateFailed(`${flags.failOn}: the deployments above fail the check`);
  });
}
