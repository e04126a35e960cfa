import type { TokenScope } from "../core/words.js";
import type { Database } from "./database.js";
import type { TokenRow } from "./schema.js";

export interface NewToken {
  name: string | null;
  token_hash: string;
  scope: TokenScope;
  owner_team: string | null;
  created_at: number;
}

/** API tokens, stored by hash. */
export class TokenStore {
  constructor(private readonly database: Database) {}

  async insert(token: NewToken): Promise<TokenRow> {
    return this.database.db.insertInto("tokens").values(token).returningAll().executeTakeFirstOrThrow();
  }

  /** The token with this hash, if it exists and is not revoked. */
  async findActiveByHash(hash: string): Promise<TokenRow | undefined> {
    return this.database.db
      .selectFrom("tokens")
      .selectAll()
      .where("token_hash", "=", hash)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
  }

  async list(): Promise<TokenRow[]> {
    return this.database.db.selectFrom("tokens").selectAll().orderBy("id").execute();
  }

  /** Revokes a token; false when no live token has that id. */
  async revoke(id: number, at: number): Promise<boolean> {
    const result = await this.database.db
      .updateTable("tokens")
      .set({ revoked_at: at })
      .where("id", "=", id)
      .where("revoked_at", "is", null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }
}
