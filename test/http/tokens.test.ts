import { createHash } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TokenCache } from "../../src/http/token-auth.js";
import { generateToken, hashToken } from "../../src/registry/tokens.js";
import type { TokenRow } from "../../src/store/schema.js";
import type { TokenStore } from "../../src/store/token-store.js";
import { dialects } from "../support/databases.js";
import { registration, startTestApp, type TestApp } from "../support/test-app.js";

const NOW = Date.parse("2026-11-25T12:00:00.000Z");
const DAY = 86_400_000;

describe("token secrets", () => {
  it("carry 256 random bits: tnr_ and 43 base64url characters that decode to 32 bytes, never twice the same", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2_000; i++) {
      const token = generateToken();
      expect(token).toMatch(/^tnr_[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(token.slice(4), "base64url")).toHaveLength(32);
      seen.add(token);
    }
    expect(seen.size).toBe(2_000);
  });

  it("are kept as their SHA-256 in hex, which is what a look-up asks the store for", async () => {
    const token = generateToken();
    expect(hashToken(token)).toBe(createHash("sha256").update(token).digest("hex"));
    const asked: string[] = [];
    const store: TokenStore = {
      insert: async () => {
        throw new Error("not used");
      },
      findActiveByHash: async (hash) => {
        asked.push(hash);
        return undefined;
      },
      list: async () => [],
      revoke: async () => false,
    };
    expect(await new TokenCache(store, () => NOW).check(token)).toEqual({ kind: "unknown" });
    // The store only ever sees the digest: no query, index or log line holds the secret.
    expect(asked).toEqual([hashToken(token)]);
  });
});

describe.each(dialects())("token expiry and revocation on %s", (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp(dialect, { now: NOW });
  });
  afterEach(async () => {
    await t.close();
  });

  async function makeToken(options: { expiresAt?: number | null; name?: string } = {}) {
    const secret = generateToken();
    const row = await t.context.stores.tokens.insert({
      name: options.name ?? "expiring",
      token_hash: hashToken(secret),
      scope: "write",
      owner_team: null,
      created_at: NOW,
      expires_at: options.expiresAt ?? null,
    });
    return { secret, row };
  }

  it("stores only the token's hash: no column of its row holds the secret", async () => {
    const { secret, row } = await makeToken({ expiresAt: NOW + DAY });
    const stored = (await t.context.stores.tokens.list()).find((r) => r.id === row.id) as TokenRow;
    expect(stored.token_hash).toBe(hashToken(secret));
    expect(stored.expires_at).toBe(NOW + DAY);
    expect(JSON.stringify(stored)).not.toContain(secret);
    expect(JSON.stringify(stored)).not.toContain(secret.slice(4));
  });

  it("accepts a token until its expires_at, then refuses it with 401 token-expired that says only that it expired", async () => {
    const { secret, row } = await makeToken({ expiresAt: NOW + 90 * DAY, name: "ci-deployer" });
    const before = await t.request({
      method: "POST",
      url: "/v1/deployments",
      body: registration(),
      token: secret,
    });
    expect(before.statusCode, before.body).toBe(201);

    t.setNow(NOW + 90 * DAY - 1);
    expect((await t.request({ method: "GET", url: "/v1/deployments", token: secret })).statusCode).toBe(200);

    t.setNow(NOW + 90 * DAY);
    for (const [method, url] of [
      ["GET", "/v1/deployments"],
      ["POST", "/v1/sweeps"],
    ] as const) {
      const refused = await t.request({ method, url, token: secret });
      expect(refused.statusCode, refused.body).toBe(401);
      expect(refused.headers["content-type"]).toMatch(/^application\/problem\+json/);
      // RFC 6750 §3.1: the challenge names the error, so a client library knows to get a new token.
      expect(refused.headers["www-authenticate"]).toBe(
        'Bearer realm="tenure", error="invalid_token", error_description="expired"',
      );
      const body = refused.json();
      expect(body).toMatchObject({ type: "https://tenure.dev/problems/token-expired", status: 401 });
      expect(body.detail).toMatch(/expired/);
      // Nothing about the token itself: not its name, id, scope, team or when it expired.
      const text = refused.body;
      for (const secretish of [
        row.name ?? "",
        `"id"`,
        "write",
        new Date(NOW + 90 * DAY).toISOString(),
        secret,
      ]) {
        expect(text).not.toContain(secretish);
      }
    }
  });

  it("keeps a token without an expiry working whatever the clock says", async () => {
    const { secret } = await makeToken({ expiresAt: null });
    t.setNow(NOW + 3650 * DAY);
    expect((await t.request({ method: "GET", url: "/v1/deployments", token: secret })).statusCode).toBe(200);
  });

  it("refuses a revoked token as an unknown one (unauthenticated), even when it has also expired", async () => {
    const { secret, row } = await makeToken({ expiresAt: NOW + DAY });
    expect(await t.context.stores.tokens.revoke(row.id, NOW)).toBe(true);
    expect(await t.context.stores.tokens.revoke(row.id, NOW)).toBe(false);
    for (const at of [NOW, NOW + 2 * DAY]) {
      t.setNow(at);
      const refused = await t.request({ method: "GET", url: "/v1/deployments", token: secret });
      expect(refused.statusCode).toBe(401);
      expect(refused.json()).toMatchObject({ type: "https://tenure.dev/problems/unauthenticated" });
    }
    // Other tokens are untouched.
    expect((await t.request({ method: "GET", url: "/v1/deployments" })).statusCode).toBe(200);
  });

  it("refuses a made-up token of the right shape as unknown, never as expired", async () => {
    const refused = await t.request({ method: "GET", url: "/v1/deployments", token: generateToken() });
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ type: "https://tenure.dev/problems/unauthenticated" });
    expect(refused.headers["www-authenticate"]).toBe('Bearer realm="tenure"');
  });
});

describe("the token cache", () => {
  it("judges expiry against the clock at every request, so a cached token does not outlive its expires_at", async () => {
    let now = NOW;
    let lookups = 0;
    const row: TokenRow = {
      id: 7,
      name: "cached",
      token_hash: "",
      scope: "read",
      owner_team: null,
      created_at: NOW,
      revoked_at: null,
      expires_at: NOW + 1_000,
    };
    const store: TokenStore = {
      insert: async () => row,
      findActiveByHash: async () => {
        lookups++;
        return row;
      },
      list: async () => [row],
      revoke: async () => false,
    };
    const cache = new TokenCache(store, () => now, 60_000);
    expect((await cache.check("tnr_x")).kind).toBe("valid");
    now = NOW + 1_000;
    expect(await cache.check("tnr_x")).toEqual({ kind: "expired" });
    expect(lookups).toBe(1);
  });
});
