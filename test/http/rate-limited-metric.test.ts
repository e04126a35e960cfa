import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../../src/http/server.js";
import { generateToken, hashToken } from "../../src/registry/tokens.js";
import { parseExposition } from "../support/exposition.js";

const COUNTER = "tenure_http_rate_limited_total";

// The limits hold no state in the database, so SQLite alone shows the wiring.
describe("429s counted in /metrics by a listening server", () => {
  let dir: string | undefined;
  let server: RunningServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("counts every request refused over a token's limit as limit=token, and over an address's as limit=address", async () => {
    dir = mkdtempSync(join(tmpdir(), "tenure-limited-"));
    // Per minute, so that no bucket refills while the test drives it over its limit.
    server = await startServer({
      databaseUrl: join(dir, "tenure.db"),
      host: "127.0.0.1",
      port: 0,
      publicRead: false,
      logLevel: "silent",
      tokenRate: { count: 5, perMs: 60_000 },
      anonymousRate: { count: 3, perMs: 60_000 },
    });
    const token = async (name: string) => {
      const value = generateToken();
      await server?.context.stores.tokens.insert({
        name,
        token_hash: hashToken(value),
        scope: "read",
        owner_team: null,
        created_at: Date.now(),
      });
      return value;
    };
    const busy = await token("busy");
    const scraper = await token("scraper");
    const url = server.url;
    const scrape = async () => {
      const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${scraper}` } });
      expect(response.status).toBe(200);
      const { samples, types, help } = parseExposition(await response.text());
      expect(types.get(COUNTER)).toBe("counter");
      expect(help.get(COUNTER)).toMatch(/429/);
      return Object.fromEntries(
        samples.filter((s) => s.name === COUNTER).map((s) => [s.labels.limit, s.value]),
      );
    };
    // Both series are there before anything is refused, at 0.
    expect(await scrape()).toEqual({ token: 0, address: 0 });

    const statuses = async (count: number, send: () => Promise<Response>) => {
      const seen: number[] = [];
      for (let i = 0; i < count; i++) {
        const response = await send();
        await response.arrayBuffer();
        seen.push(response.status);
      }
      return seen;
    };
    const byToken = await statuses(9, () =>
      fetch(`${url}/v1/deployments`, { headers: { authorization: `Bearer ${busy}` } }),
    );
    expect(byToken).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429]);
    // Without a token, with a made-up one, and to a route that does not exist: all the address's.
    const byAddress = [
      ...(await statuses(4, () => fetch(`${url}/healthz`))),
      ...(await statuses(2, () =>
        fetch(`${url}/v1/deployments`, { headers: { authorization: `Bearer ${generateToken()}` } }),
      )),
      ...(await statuses(1, () => fetch(`${url}/no/such/route`))),
    ];
    expect(byAddress).toEqual([200, 200, 200, 429, 429, 429, 429]);

    expect(await scrape()).toEqual({ token: 4, address: 4 });
  });
});
