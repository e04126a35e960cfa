import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BothPaths, startBothPaths } from "../support/both-paths.js";
import { expectOneLineFailure, type RunResult } from "../support/process.js";

/**
 * Bad input to every command that either opens the database or calls a server, with the start
 * of the one line it is refused with: the whole line must be the same both ways.
 */
const BAD_INPUTS: ReadonlyArray<readonly [args: string[], message: RegExp]> = [
  [["review", "1", "--note", ""], /^--note must say what was checked$/],
  [["review", "1", "--note", "a\u0001b"], /^--note must not contain control characters$/],
  [["review", "1", "--note", "checked", "--extend", "600w"], /^--extend must be at most ten years$/],
  [["review", "0", "--note", "checked"], /ID must be a whole number from 1 to 2147483647/],
  [["retire", "1", "--reason", "x".repeat(2001)], /^--reason /],
  [["retire", "1", "--reason", "a\u0007b"], /^--reason must not contain control characters$/],
  [["rollback", "Fraud"], /^MODEL must be a slug/],
  [["rollback", "fraud", "--env", "Prod!"], /^--env must be a slug/],
  [["rollback", "fraud", "--to", "bad version"], /^--to must start with a letter or digit/],
  [["rollback", "fraud", "--reason", "a\u0001b"], /^--reason must not contain control characters$/],
  [["golden", "Fraud", "1.0"], /^MODEL must be a slug/],
  [["golden", "fraud", "bad version"], /^VERSION must start with a letter or digit/],
  [["golden", "fraud", "1.0", "--env", "BAD ENV"], /^--env must be a slug/],
  [["ls", "--env", "BAD ENV"], /^--env must be a slug/],
  [["ls", "--team", "Risk"], /^--team must be a slug/],
  [["ls", "--model", "Fraud"], /^--model must be a slug/],
  [["policy", "suggest", "--model", "Fraud"], /^--model must be a slug/],
  [["policy", "suggest", "--env", "BAD ENV"], /^--env must be a slug/],
  [["ls", "--cursor", "x".repeat(201)], /^--cursor /],
  [["ls", "--role", "boss"], /--role must be one of primary, shadow, canary/],
  [["ls", "--stage", "old"], /--stage must be one of fresh, due, expired/],
  [["ls", "--status", "gone"], /--status must be one of/],
  [["ls", "--limit", "0"], /--limit must be a whole number/],
  [["show", "0"], /ID must be a whole number from 1 to 2147483647/],
  [["show", "2147483648"], /ID must be a whole number from 1 to 2147483647/],
  [["alerts", "--state", "closed"], /--state must be one of open, resolved, all/],
  [["alerts", "--team", "Risk"], /^--team must be a slug/],
  [["deliveries", "ls", "--state", "lost"], /--state must be one of pending, delivered, failed/],
  [["deliveries", "retry", "0"], /^ID Too small: expected number to be >=1$/],
  [["deliveries", "retry", "2147483648"], /^ID Too big: expected number to be <=2147483647$/],
  [["check", "--env", "BAD ENV"], /^--env must be a slug/],
  [["check", "--team", "Risk"], /^--team must be a slug/],
  [["check", "--fail-on", "old"], /--fail-on must be one of due, expired, stale/],
  [["policy", "explain", "0"], /ID must be a whole number from 1 to 2147483647/],
  [["shadow", "Fraud"], /^MODEL must be a slug/],
  [["shadow", "fraud", "--env", "BAD ENV"], /^--env must be a slug/],
  [["ghosts", "--env", "BAD ENV"], /^--env must be a slug/],
  [["ghosts", "--limit", "0"], /--limit must be a whole number/],
];

describe("every command's input as a process, opening the database or through TENURE_URL", {
  timeout: 120_000,
}, () => {
  let paths: BothPaths;
  const local = (...args: string[]) => paths.local(...args);
  const remote = (...args: string[]) => paths.remote(...args);

  beforeAll(async () => {
    paths = await startBothPaths("admin");
    // Deployment 1 on each side, golden: every bad input names something that exists.
    for (const run of [local, remote]) {
      for (const args of [
        ["deploy", "fraud", "1.0", "--trained-through", "2026-01-01", "--team", "risk"],
        ["golden", "fraud", "1.0"],
      ]) {
        const done = await run(...args);
        expect(done.code, done.stderr).toBe(0);
      }
    }
  });
  afterAll(async () => {
    await paths?.stop();
  });

  /** Each side's deployments and deployment 1's events, without the ages that move with the clock. */
  const state = async () =>
    Promise.all(
      [local, remote].map(async (run) => {
        const [list, shown] = await Promise.all([run("ls", "--all", "--json"), run("show", "1", "--json")]);
        const json = (r: RunResult) => {
          expect(r.code, r.stderr).toBe(0);
          return JSON.parse(r.stdout);
        };
        return {
          deployments: (json(list).items as Record<string, unknown>[]).map(({ age: _age, ...rest }) => rest),
          events: json(shown).events,
        };
      }),
    );

  it.each(BAD_INPUTS.map(([args, message]) => ({ command: args.join(" "), args, message })))(
    "refuses `tenure $command` in the same one line with exit 2 either way, changing nothing",
    async ({ args, message }) => {
      const before = await state();
      const [mine, theirs] = await Promise.all([local(...args), remote(...args)]);
      const line = expectOneLineFailure(mine, 2);
      expect(line.replace(/^tenure: /, "")).toMatch(message);
      expect(expectOneLineFailure(theirs, 2)).toBe(line);
      expect(await state()).toEqual(before);
    },
  );
});
