import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { DELIVERY_STATES } from "../core/words.js";
import type { DeliveryView } from "../lifecycle/lifecycle-view.js";
import { clientFrom } from "./client.js";
import { parseFlags } from "./flag-input.js";
import { shortTime, table } from "./format.js";
import { configOf, type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, oneOf, positiveInt } from "./options.js";

const STATES = DELIVERY_STATES;

export function deliveriesCommand(program: Command, io: Io): void {
  const deliveries = program
    .command("deliveries")
    .summary("notifications in the outbox; retry the dead-lettered");
  databaseOption(
    deliveries
      .command("ls")
      .summary("list deliveries, newest first")
      .option("--state <state>", "pending, delivered or failed", oneOf("--state", STATES))
      .option("--limit <n>", "at most this many", positiveInt("--limit", 500), 50)
      .option("--json", "print {items} as JSON"),
  ).action(
    async (flags: DatabaseFlag & { state?: (typeof STATES)[number]; limit: number; json?: boolean }) => {
      // Validated before either path opens anything: the database and a server refuse alike.
      const { DeliveriesQuery } = await import("../lifecycle/lifecycle-input.js");
      const query = parseFlags(
        DeliveriesQuery,
        { state: flags.state, limit: String(flags.limit) },
        "the delivery list is not valid",
      );
      const client = await clientFrom(io.env, flags.database);
      try {
        const page = await client.deliveries({ ...query, cursor: undefined });
        if (flags.json) return printJson(io, { items: page.items });
        if (page.items.length === 0) return io.out("no deliveries\n");
        io.out(
          table(
            ["ID", "ALERT", "CHANNEL", "ACTION", "STATE", "ATTEMPTS", "CREATED", "LAST ERROR"],
            page.items.map(row),
          ),
        );
      } finally {
        await client.close();
      }
    },
  );
  databaseOption(
    deliveries
      .command("retry")
      .summary("queue failed (dead-lettered) deliveries again: all, or the ids given")
      .argument(
        "[ids...]",
        "delivery ids (default: every failed one)",
        (value: string, all: number[] = []) => {
          if (!/^\d{1,10}$/.test(value)) throw new InvalidArgumentError("ids must be whole numbers");
          return [...all, Number(value)];
        },
      )
      .option("--json", "print {retried} as JSON"),
  ).action(async (ids: number[] | undefined, flags: DatabaseFlag & { json?: boolean }) => {
    // Validated before either path opens anything: the database and a server refuse alike.
    const { RetryDeliveriesBody } = await import("../lifecycle/lifecycle-input.js");
    const body = parseFlags(
      RetryDeliveriesBody,
      { ids: ids?.length ? ids : undefined },
      "the retry is not valid",
    );
    const client = await clientFrom(io.env, flags.database);
    try {
      const result = await client.retryDeliveries(body.ids);
      if (flags.json) return printJson(io, result);
      io.out(
        `${result.retried} delivery(ies) queued again${(await configOf(io)).url ? "" : "; a running server delivers them"}\n`,
      );
    } finally {
      await client.close();
    }
  });
}

function row(d: DeliveryView): string[] {
  return [
    String(d.id),
    String(d.alert_id),
    d.channel,
    d.action,
    d.state,
    String(d.attempts),
    shortTime(d.created_at),
    (d.last_error ?? "").slice(0, 60),
  ];
}
