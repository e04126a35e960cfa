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
 * Looks tokens up by hash with a short cache, so the read path does not pay a query per
 * request. A revocation therefore takes up to `ttlMs` to reach a running server.
 */
export class TokenCache {
  private readonly entries = new Map<string, { token: TokenRow | undefined; until: number }>();

  constructor(
    private readonly store: TokenStore,
    private readonly clock: () => number,
    private readonly ttlMs = 5_000,
    private readonly maxEntries = 1_000,
  ) {}

  async find(token: string): Promise<TokenRow | undefined> {
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
