import type { Command } from "commander";
import type { Context } from "../context.js";
import { InputError, NotFoundError } from "../core/errors.js";
import { isoTime as iso } from "../core/iso-time.js";
import { TOKEN_SCOPES, type TokenScope } from "../core/words.js";
import { SLUG_PATTERN } from "../registry/deployment-words.js";
import { generateToken, hashToken } from "../registry/tokens.js";
import type { TokenRow } from "../store/schema.js";
import { shortTime, table } from "./format.js";
import { configOf, type Io, printJson } from "./io.js";
import { type DatabaseFlag, databaseOption, durationFlag, oneOf, positiveInt } from "./options.js";

/** Token commands work on the database itself: they are how the first token comes to exist. */
export function tokenCommand(program: Command, io: Io): void {
  const token = program
    .command("token")
    .summary("create, list and revoke API tokens (on the database directly)");

  databaseOption(
    token
      .command("create")
      .summary("create a token and print it (shown once, stored hashed)")
      .requiredOption("--scope <scope>", "read, write or admin", oneOf("--scope", TOKEN_SCOPES))
      .option("--team <team>", "bind it to one owner_team: it can change only that team's models")
      .option("--name <name>", "a name for events and `token list`")
      .option(
        "--expires <duration>",
        "refuse it after this long, such as 90d or 12h (default: never)",
        durationFlag("--expires"),
      ),
  ).action(async (flags: CreateFlags) => {
    if (flags.team !== undefined && !SLUG_PATTERN.test(flags.team)) {
      throw new InputError("--team must be a slug", [{ field: "--team", message: "must be a slug" }]);
    }
    if (flags.name !== undefined && !/^[\x20-\x7e]{1,100}$/.test(flags.name)) {
      throw new InputError("--name must be 1 to 100 printable characters");
    }
    await withTokens(io, flags.database, { create: true }, async (context) => {
      const secret = generateToken();
      const { localActor } = await import("./local-client.js");
      const now = context.clock();
      // The token and its audit row commit together: no token exists that the log does not show.
      await context.stores.transaction(async (tx) => {
        const row = await tx.tokens.insert({
          name: flags.name ?? null,
          token_hash: hashToken(secret),
          scope: flags.scope,
          owner_team: flags.team ?? null,
          created_at: now,
          expires_at: flags.expires === undefined ? null : now + flags.expires * 1000,
        });
        const subject = { kind: "token", id: row.id } as const;
        const change = {
          actor: localActor().name,
          action: "token.create",
          subject,
          origin: "local",
        } as const;
        await context.audit.record(change, null, await context.audit.snapshot(subject, tx), tx);
      });
      io.out(`${secret}\n`);
    });
  });

  databaseOption(
    token
      .command("list")
      .alias("ls")
      .summary("list tokens with their expiry (never their secrets)")
      .option("--json", "as JSON"),
  ).action(async (flags: DatabaseFlag & { json?: boolean }) => {
    await withTokens(io, flags.database, { create: false }, async (context) => {
      const now = context.clock();
      const rows = (await context.stores.tokens.list()).map((t) => ({
        id: t.id,
        name: t.name,
        scope: t.scope,
        owner_team: t.owner_team,
        state: tokenState(t, now),
        created_at: iso(t.created_at),
        expires_at: t.expires_at === null ? null : iso(t.expires_at),
        revoked_at: t.revoked_at === null ? null : iso(t.revoked_at),
      }));
      if (flags.json) return printJson(io, { items: rows });
      io.out(
        table(
          ["ID", "NAME", "SCOPE", "TEAM", "STATE", "CREATED", "EXPIRES", "REVOKED"],
          rows.map((t) => [
            String(t.id),
            t.name ?? "-",
            t.scope,
            t.owner_team ?? "any",
            t.state,
            shortTime(t.created_at),
            t.expires_at ? shortTime(t.expires_at) : "never",
            t.revoked_at ? shortTime(t.revoked_at) : "-",
          ]),
        ),
      );
    });
  });

  databaseOption(
    token
      .command("revoke")
      .summary("revoke a token by id")
      .argument("<id>", "the token id", positiveInt("ID")),
  ).action(async (id: number, flags: DatabaseFlag) => {
    await withTokens(io, flags.database, { create: false }, async (context) => {
      const { localActor } = await import("./local-client.js");
      await context.stores.transaction(async (tx) => {
        const subject = { kind: "token", id } as const;
        const before = await context.audit.snapshot(subject, tx);
        if (!(await tx.tokens.revoke(id, context.clock()))) {
          throw new NotFoundError(`no live token has id ${id}`);
        }
        const change = {
          actor: localActor().name,
          action: "token.revoke",
          subject,
          origin: "local",
        } as const;
        await context.audit.record(change, before, await context.audit.snapshot(subject, tx), tx);
      });
      io.out(`revoked token ${id}\n`);
    });
  });
}

interface CreateFlags extends DatabaseFlag {
  scope: TokenScope;
  team?: string;
  name?: string;
  /** Seconds from now. */
  expires?: number;
}

/** Revoked wins over expired: a revoked token stays refused whatever its expiry. */
function tokenState(token: TokenRow, now: number): "active" | "expired" | "revoked" {
  if (token.revoked_at !== null) return "revoked";
  if (token.expires_at !== null && token.expires_at <= now) return "expired";
  return "active";
}

async function withTokens(
  io: Io,
  flag: string | undefined,
  options: { create: boolean },
  work: (context: Context) => Promise<void>,
): Promise<void> {
  const { openContext } = await import("../context.js");
  const config = await configOf(io);
  const context = await openContext(flag ?? config.databaseUrl, {
    preparedStatements: config.preparedStatements,
    mustExist: !options.create,
  });
  try {
    await work(context);
  } finally {
    await context.close();
  }
}
