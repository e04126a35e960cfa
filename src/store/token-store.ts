import type { TokenScope } from "../core/words.js";
import { BoundStore } from "./bound-store.js";
import type { TokenRow } from "./schema.js";

export interface NewToken {
  name: string | null;
  token_hash: string;
  scope: TokenScope;
  owner_team: string | null;
  created_at: number;
  /** When it stops working (epoch ms); null or absent: never. */
  expires_at?: number | null;
}

/** API tokens, stored by hash. */
export interface TokenStore {
  insert(token: NewToken): Promise<TokenRow>;
  /**
   * The token with this hash, if it exists and is not revoked; an expired one too, so that the
   * caller, which holds the clock, can say it expired.
   */
  findActiveByHash(hash: string): Promise<TokenRow | undefined>;
  /** Every token, revoked ones too, oldest first. */
  list(): Promise<TokenRow[]>;
  /** Revokes a token; false when no live token has that id. */
  revoke(id: number, at: number): Promise<boolean>;
}

export class SqlTokenStore extends BoundStore implements TokenStore {
  async insert(token: NewToken): Promise<TokenRow> {
    return this.executor.insertInto("tokens").values(token).returningAll().executeTakeFirstOrThrow();
  }

  async findActiveByHash(hash: string): Promise<TokenRow | undefined> {
    return this.executor
      .selectFrom("tokens")
      .selectAll()
      .where("token_hash", "=", hash)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
  }

  async list(): Promise<TokenRow[]> {
    return this.executor.selectFrom("tokens").selectAll().orderBy("id").execute();
  }

  async revoke(id: number, at: number): Promise<boolean> {
    const result = await this.executor
      .updateTable("tokens")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }
}
