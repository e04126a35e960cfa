import { describe, expect, it } from "vitest";
import { dialects } from "../support/databases.js";
import { cells, expectOneLineFailure, pollUntil } from "../support/process.js";
import { serveSandbox } from "../support/serve-sandbox.js";

const DAY_MS = 86_400_000;

interface ListedToken {
  id: number;
  name: string | null;
  state: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

// One test at a time: each starts processes, and several at once on a busy machine outlast start-up timeouts.
describe.each(dialects())("tenure token as a process on %s", { timeout: 60_000 }, (dialect) => {
  /** A fresh database and working folder; servers started are stopped after the test. */
  async function fresh(onTestFinished: (fn: () => Promise<void>) => void) {
    const sandbox = await serveSandbox(onTestFinished, dialect);
    const tenure = (...args: string[]) => sandbox.tenure(args);
    const listed = async (): Promise<ListedToken[]> => {
      const result = await tenure("token", "ls", "--json");
      expect(result.code, result.stderr).toBe(0);
      return JSON.parse(result.stdout).items;
    };
    return { tenure, serve: sandbox.serve, listed };
  }

  it("token create --expires 90d prints only the token, and token ls shows when it expires", async ({
    onTestFinished,
  }) => {
    const { tenure, listed } = await fresh(onTestFinished);
    const before = Date.now();
    const created = await tenure(
      "token",
      "create",
      "--scope",
      "read",
      "--name",
      "quarterly",
      "--expires",
      "90d",
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^tnr_[A-Za-z0-9_-]{43}\n$/);
    const forever = await tenure("token", "create", "--scope", "write", "--name", "forever");
    expect(forever.code, forever.stderr).toBe(0);

    const [quarterly, lasting] = await listed();
    expect(quarterly).toMatchObject({ name: "quarterly", state: "active", revoked_at: null });
    const expiresAt = Date.parse(quarterly?.expires_at ?? "");
    expect(expiresAt).toBeGreaterThanOrEqual(before + 90 * DAY_MS);
    expect(expiresAt).toBeLessThanOrEqual(Date.now() + 90 * DAY_MS);
    expect(lasting).toMatchObject({ name: "forever", state: "active", expires_at: null });

    const table = await tenure("token", "ls");
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = cells(table.stdout);
    expect(header).toEqual(["ID", "NAME", "SCOPE", "TEAM", "STATE", "CREATED", "EXPIRES", "REVOKED"]);
    const day = new Date(expiresAt).toISOString().slice(0, 10);
    expect(rows[0]).toEqual([
      expect.any(String),
      "quarterly",
      "read",
      "any",
      "active",
      expect.any(String),
      expect.stringContaining(day),
      "-",
    ]);
    expect(rows[1]?.[6]).toBe("never");
    // The secret is never listed.
    expect(table.stdout).not.toContain(created.stdout.trim());
  });

  it("a running server accepts a token until it expires, then answers 401 token-expired; token ls says expired", async ({
    onTestFinished,
  }) => {
    const { tenure, serve, listed } = await fresh(onTestFinished);
    // The server first: its start-up must not eat into the token's few seconds.
    const server = await serve();
    const created = await tenure("token", "create", "--scope", "read", "--name", "short", "--expires", "15s");
    expect(created.code, created.stderr).toBe(0);
    const auth = { authorization: `Bearer ${created.stdout.trim()}` };
    expect((await fetch(`${server.url}/v1/deployments`, { headers: auth })).status).toBe(200);
    const refused = await pollUntil(
      "the token to expire (15 s after it was made)",
      async () => {
        const response = await fetch(`${server.url}/v1/deployments`, { headers: auth });
        if (response.status === 401) return response;
        await response.arrayBuffer();
        return undefined;
      },
      30_000,
      250,
    );
    expect(refused.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    const body = await refused.json();
    expect(body).toMatchObject({ type: "https://tenure.dev/problems/token-expired", status: 401 });
    expect(JSON.stringify(body)).not.toContain("short");
    expect((await listed())[0]).toMatchObject({ name: "short", state: "expired" });
  });

  it("token revoke ID stops a token at a running server within its 5 s cache, and token ls shows it revoked", async ({
    onTestFinished,
  }) => {
    const { tenure, serve, listed } = await fresh(onTestFinished);
    const created = await tenure("token", "create", "--scope", "read", "--name", "leaked");
    const auth = { authorization: `Bearer ${created.stdout.trim()}` };
    const server = await serve();
    expect((await fetch(`${server.url}/v1/deployments`, { headers: auth })).status).toBe(200);
    const [row] = await listed();
    const revoked = await tenure("token", "revoke", String(row?.id));
    expect(revoked.code, revoked.stderr).toBe(0);
    const started = Date.now();
    await pollUntil(
      "the revocation to reach the server",
      async () =>
        (await fetch(`${server.url}/v1/deployments`, { headers: auth })).status === 401 ? true : undefined,
      10_000,
      100,
    );
    expect(Date.now() - started).toBeLessThan(5_000 + 1_000);
    expect((await listed())[0]).toMatchObject({ state: "revoked", revoked_at: expect.any(String) });
  });

  it("refuses an --expires that is not a duration with one line and exit 2, creating nothing", async ({
    onTestFinished,
  }) => {
    const { tenure, listed } = await fresh(onTestFinished);
    expect((await tenure("token", "create", "--scope", "read", "--name", "first")).code).toBe(0);
    for (const bad of ["soon", "0d", "90"]) {
      const result = await tenure("token", "create", "--scope", "read", "--expires", bad);
      expect(expectOneLineFailure(result, 2)).toMatch(/--expires must be a duration/);
    }
    expect((await listed()).map((t) => t.name)).toEqual(["first"]);
  });
});
