import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BothPaths, startBothPaths } from "../support/both-paths.js";
import { expectOneLineFailure } from "../support/process.js";

describe("tenure sweep as a process, opening the database or through TENURE_URL", { timeout: 60_000 }, () => {
  let paths: BothPaths;
  beforeAll(async () => {
    paths = await startBothPaths("write");
  });
  afterAll(async () => {
    await paths?.stop();
  });

  const local = (...args: string[]) => paths.local(...args);
  const remote = (...args: string[]) => paths.remote(...args);

  /** Each side's sweep log: a server logs a sweep of its own at start. */
  const logs = async () =>
    Promise.all([local("sweep", "--history", "--json"), remote("sweep", "--history", "--json")]).then(
      (results) => results.map((r) => JSON.parse(r.stdout).items as { id: number }[]),
    );

  it("refuses an --at that is not a date, or does not exist, in the same one line with exit 2 either way", async () => {
    const before = await logs();
    for (const at of ["yesterday", "2026-02-30", "99999-01-01"]) {
      const [mine, theirs] = await Promise.all([local("sweep", "--at", at), remote("sweep", "--at", at)]);
      const message = expectOneLineFailure(mine, 2);
      expect(message).toMatch(/^tenure: --at must be an ISO 8601 date/);
      expect(expectOneLineFailure(theirs, 2)).toBe(message);
    }
    expect(await logs()).toEqual(before);
  });

  it("a future --at and --dry-run are previews, said so in the output, logged nowhere", async () => {
    const before = await logs();
    const future = new Date(Date.now() + 90 * 86_400_000).toISOString();
    for (const run of [local, remote]) {
      const human = await run("sweep", "--at", future);
      expect(human.code, human.stderr).toBe(0);
      expect(human.stdout).toMatch(/^preview of a sweep at .* \(nothing was written or sent\): 0 live/);
      const json = await run("sweep", "--dry-run", "--json");
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ id: null, dry_run: true, delivery: null });
    }
    expect(await logs()).toEqual(before);
  });
});
