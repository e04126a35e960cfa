import { writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, dialects, type TestDatabase } from "../support/databases.js";
import { pollUntil, runTenure, startServe, tempDir } from "../support/process.js";

interface Entry {
  id: number;
  actor: string;
  action: string;
  target: string | null;
  origin: string;
  client_ip: string | null;
  user_agent: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
}

const LOCAL = `cli:${userInfo().username}`;
const POLICIES = "policies:\n  - name: fraud\n    match: { model: fraud-gbm }\n    max_age: 30d\n";

describe.each(dialects())("tenure audit as a process on %s", { timeout: 120_000 }, (dialect) => {
  let database: TestDatabase;
  let dir: ReturnType<typeof tempDir>;
  beforeEach(async () => {
    database = await createTestDatabase(dialect);
    dir = tempDir();
  });
  afterEach(async () => {
    dir.remove();
    await database.drop();
  });

  const tenure = async (args: string[], env: Record<string, string> = {}) =>
    runTenure([...args, ...(env.TENURE_URL ? [] : ["--database", database.url])], { cwd: dir.path, env });
  const ok = async (args: string[], env: Record<string, string> = {}) => {
    const result = await tenure(args, env);
    expect(result.code, `tenure ${args.join(" ")}: ${result.stderr}`).toBe(0);
    return result.stdout;
  };
  const audit = async (args: string[] = [], env: Record<string, string> = {}) =>
    JSON.parse(await ok(["audit", "--json", ...args], env)) as { items: Entry[]; next_cursor: string | null };

  it("records token creation and revocation and the CLI's own changes as `local`, never a token's secret or hash", async () => {
    const secret = (await ok(["token", "create", "--scope", "admin", "--name", "ops"])).trim();
    await ok(["token", "revoke", "1"]);
    const deployed = JSON.parse(
      await ok([
        "deploy",
        "fraud-gbm",
        "3.2.0",
        "--trained-through",
        "2026-10-01",
        "--team",
        "risk",
        "--json",
      ]),
    ) as { id: number };
    await ok(["retire", String(deployed.id), "--reason", "replaced"]);

    const { items } = await audit();
    expect(items.map((e) => [e.action, e.actor, e.origin, e.target])).toEqual([
      ["deployment.retire", LOCAL, "local", `deployment:${deployed.id}`],
      ["deployment.register", LOCAL, "local", "model:fraud-gbm/production"],
      ["token.revoke", LOCAL, "local", "token:1"],
      ["token.create", LOCAL, "local", "token:1"],
    ]);
    const [retire, , revoke, create] = items;
    expect(create?.before).toBeNull();
    expect(create?.after).toMatchObject({
      id: 1,
      name: "ops",
      scope: "admin",
      owner_team: null,
      revoked_at: null,
    });
    expect(revoke?.before).toMatchObject({ revoked_at: null });
    expect(revoke?.after).toMatchObject({ revoked_at: expect.any(String) });
    expect(retire?.before).toMatchObject({ status: "active" });
    expect(retire?.after).toMatchObject({ status: "retired" });
    const everything = JSON.stringify(items);
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain("token_hash");

    // A refused change leaves nothing: the token is revoked already, the deployment retired.
    expect((await tenure(["token", "revoke", "1"])).code).not.toBe(0);
    expect((await tenure(["retire", String(deployed.id)])).code).not.toBe(0);
    expect((await audit()).items).toHaveLength(4);

    // Filters, and the table a person reads.
    expect((await audit(["--action", "token.create"])).items.map((e) => e.id)).toEqual([create?.id]);
    expect((await audit(["--actor", LOCAL, "--since", "7d"])).items).toHaveLength(4);
    expect((await audit(["--since", "2999-01-01"])).items).toEqual([]);
    const page = await audit(["--limit", "3"]);
    expect(page.items).toHaveLength(3);
    expect((await audit(["--cursor", String(page.next_cursor)])).items.map((e) => e.action)).toEqual([
      "token.create",
    ]);
    const table = await ok(["audit"]);
    expect(table).toMatch(/ID +AT +ACTOR +ACTION +TARGET +FROM/);
    expect(table).toContain("token.revoke");
    expect(table).toMatch(/deployment\.retire +deployment:\d+ +local/);
  });

  it("refuses bad flags with one line and exit 2, before opening anything", async () => {
    for (const flags of [
      ["--since", "yesterday"],
      ["--limit", "0"],
      ["--action", "Drop Table"],
      ["--cursor", "x"],
    ]) {
      const result = await tenure(["audit", ...flags]);
      expect(result.code, flags.join(" ")).toBe(2);
      expect(result.stderr).toMatch(/^tenure: /);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    }
  });

  it("through TENURE_URL: a change records the token, client address and user agent; SIGHUP records the reload; the scheduled sweep is `system`; only an admin reads", async () => {
    const policies = join(dir.path, "policies.yaml");
    writeFileSync(policies, POLICIES);
    const admin = (await ok(["token", "create", "--scope", "admin", "--name", "ops"])).trim();
    const write = (await ok(["token", "create", "--scope", "write", "--name", "ci"])).trim();
    const server = await startServe({
      cwd: dir.path,
      database: database.url,
      extraArgs: ["--policies", policies],
    });
    try {
      const remote = (token: string) => ({ TENURE_URL: server.url, TENURE_TOKEN: token });
      const deployed = JSON.parse(
        await ok(
          ["deploy", "fraud-gbm", "3.2.0", "--trained-through", "2026-10-01", "--team", "risk", "--json"],
          remote(write),
        ),
      ) as { id: number };
      await ok(["review", String(deployed.id), "--note", "fine", "--extend", "7d"], remote(write));

      writeFileSync(
        policies,
        `${POLICIES}  - name: ranking\n    match: { model: ranker }\n    max_age: 60d\n`,
      );
      server.child.kill("SIGHUP");
      const reload = await pollUntil("the SIGHUP reload's audit row", async () => {
        const { items } = await audit(["--action", "policies.reload"], remote(admin));
        return items[0];
      });
      expect(reload).toMatchObject({
        actor: "signal:SIGHUP",
        origin: "signal",
        target: "policies",
        before: { policies: ["fraud"] },
        after: { policies: ["fraud", "ranking"] },
      });

      // The start-up sweep runs in the background: its row comes when it ends.
      await pollUntil("the start-up sweep's audit row", async () => {
        const { items } = await audit(["--action", "sweep.run"], remote(admin));
        return items[0];
      });
      const { items } = await audit([], remote(admin));
      const review = items.find((e) => e.action === "deployment.review");
      expect(review).toMatchObject({
        actor: "token:ci",
        origin: "http",
        client_ip: "127.0.0.1",
        user_agent: expect.any(String),
        target: `deployment:${deployed.id}`,
        before: { ttl_extension_seconds: 0 },
        after: { ttl_extension_seconds: 7 * 86_400 },
      });
      // The server's own work is audited too: the sweep it runs at start-up for the missed slot.
      expect(items.filter((e) => e.action === "sweep.run")).toEqual([
        expect.objectContaining({ actor: "tenure:scheduler", origin: "system", after: expect.any(Object) }),
      ]);
      expect(items.filter((e) => e.action !== "sweep.run").map((e) => e.action)).toEqual([
        "policies.reload",
        "deployment.review",
        "deployment.register",
        "token.create",
        "token.create",
      ]);
      // Reading the log changed nothing in it.
      expect((await audit([], remote(admin))).items).toHaveLength(items.length);

      const refused = await tenure(["audit"], remote(write));
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/admin/);
      expect(JSON.stringify(items)).not.toContain(admin);
      expect(JSON.stringify(items)).not.toContain(write);
    } finally {
      await server.stop();
    }
  });
});
