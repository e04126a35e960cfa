import type { TokenScope } from "../core/words.js";
import { hashToken } from "../registry/tokens.js";
import type { TokenRow } from "../store/schema.js";
import type { TokenStore } from "../store/token-store.js";

const RANK: Record<TokenScope, number> = { read: 1, write: 2, admin: 3 };

/** Scopes nest: `admin` may do what `write` may, and `write` what `read` may. */
export function scopeAllows(held: TokenScope, needed: TokenScope): boolean {
  return RANK[held] >= RANK[needed];
}

/**
 * What a bearer token is: a live token's row, one that has expired, or nothing known (never
 * issued, or revoked). An expired token says only that; its row stays here.
 */
export type TokenCheck = { kind: "valid"; token: TokenRow } | { kind: "expired" } | { kind: "unknown" };

/**
 * Looks tokens up by hash with a short cache, so the read path does not pay a query per
 * request. A revocation therefore takes up to `ttlMs` to reach a running server; an expiry
 * does not wait for the cache, since it is judged against the clock at every request.
 *
 * Looking a token up by its SHA-256 is the constant-time comparison: the secret a client sends
 * is never compared with a stored secret, only its digest with stored digests (in the database
 * index, and here in a Map). The time those comparisons take can at best tell an attacker how
 * many leading bytes of a digest matched, and a digest's prefix is no help in finding a
 * 256-bit token that produces it (SHA-256 is preimage resistant).
 */
export class TokenCache {
  private readonly entries = new Map<string, { token: TokenRow | undefined; until: number }>();

  constructor(
    private readonly store: TokenStore,
    private readonly clock: () => number,
    private readonly ttlMs = 5_000,
    private readonly maxEntries = 1_000,
  ) {}

  async check(token: string): Promise<TokenCheck> {
    const found = await this.find(token);
    if (!found) return { kind: "unknown" };
    if (found.expires_at !== null && found.expires_at <= this.clock()) return { kind: "expired" };
    return { kind: "valid", token: found };
  }

  private async find(token: string): Promise<TokenRow | undefined> {
    const hash = hashToken(token);
    const now = this.clock();
    const cached = this.entries.get(hash);
    if (cached && cached.until > now) return cached.token;
    const found = await this.store.findActiveByHash(hash);
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(hash, { token: found, until: now + this.ttlMs });
    return found;
  }
}
