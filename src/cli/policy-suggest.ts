import type { Command } from "commander";
import { formatDuration } from "../core/duration.js";
import type { TtlSuggestionView } from "../lifecycle/ttl-suggestions.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { table } from "./format.js";
import { type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, type PoliciesFlag, policiesOption } from "./options.js";

type SuggestFlags = DatabaseFlag &
  PoliciesFlag & { model?: string; env?: string; environment?: string; json?: boolean };

/** `tenure policy suggest`: the TTL each model's own decay suggests, against the one in force. */
export function suggestCommand(policy: Command, io: Io): void {
  policiesOption(
    databaseOption(
      policy
        .command("suggest")
        .summary("the TTL each model's decay suggests, against the TTL in force, with the evidence")
        .option("--model <model>", "only this model")
        .option("--env <environment>", "only this environment")
        .option("--environment <environment>", "the same as --env")
        .option("--json", "print {items} as JSON"),
    ),
  ).action(async (flags: SuggestFlags) => {
    const { SuggestionsQuery } = await import("../registry/registry-input.js");
    const query = parseFlags(
      SuggestionsQuery,
      { model: flags.model, environment: flags.env ?? flags.environment },
      "the suggestion's filters are not valid",
      {
        model: "--model",
        environment: flags.env === undefined && flags.environment !== undefined ? "--environment" : "--env",
      },
    );
    const client = await clientFrom(io.env, flags.database, flags.policies);
    try {
      const { items } = await client.suggestions(query);
      if (flags.json) return printJson(io, { items });
      if (items.length === 0) {
        const scope = [
          query.model && `model ${query.model}`,
          query.environment && `environment ${query.environment}`,
        ]
          .filter(Boolean)
          .join(" in ");
        io.out(`no live deployments${scope ? ` of ${scope}` : ""}: nothing to suggest\n`);
        return;
      }
      io.out(suggestionTable(items));
    } finally {
      await client.close();
    }
  });
}

/** One row per model and environment: its TTL now → the suggested one, and the one-line reason. */
export function suggestionTable(items: TtlSuggestionView[]): string {
  const ttl = (s: number | null) => (s === null ? "-" : formatDuration(s));
  return table(
    ["MODEL", "ENVIRONMENT", "POLICY", "CURRENT", "SUGGESTED", "REASON"],
    items.map((s) => [
      s.model,
      s.environment,
      s.policy ?? "-",
      ttl(s.current_max_age_seconds),
      s.suggested_max_age_seconds === null ? "none" : `-> ${ttl(s.suggested_max_age_seconds)}`,
      s.reason,
    ]),
  );
}
