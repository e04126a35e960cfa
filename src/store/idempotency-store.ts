import { BoundStore } from "./bound-store.js";

/** The first answer to a request with an Idempotency-Key, kept to answer its retries. */
export interface StoredResponse {
  /** The caller and the key (see IdempotencyKeysTable). */
  scope_key: string;
  request_hash: string;
  status_code: number;
  /** The answer's body, as JSON text. */
  response: string;
}

/** Idempotency keys and the answers they were first given. */
export interface IdempotencyStore {
  /** The stored answers of these keys, in one query; keys never used have none. */
  findStoredResponses(scopeKeys: string[]): Promise<StoredResponse[]>;
  storeResponses(rows: (StoredResponse & { created_at: number })[]): Promise<void>;
}

export class SqlIdempotencyStore extends BoundStore implements IdempotencyStore {
  async findStoredResponses(scopeKeys: string[]): Promise<StoredResponse[]> {
    if (scopeKeys.length === 0) return [];
    const direct = this.direct;
    if (direct) {
      return direct.allEach<StoredResponse, string>(
        "select scope_key, request_hash, status_code, response from idempotency_keys where scope_key = ?",
        scopeKeys,
        (key) => [key],
      );
    }
    return this.executor
      .selectFrom("idempotency_keys")
      .select(["scope_key", "request_hash", "status_code", "response"])
      .where("scope_key", "in", scopeKeys)
      .execute();
  }

  async storeResponses(rows: (StoredResponse & { created_at: number })[]): Promise<void> {
    if (rows.length === 0) return;
    const direct = this.direct;
    if (direct) {
      direct.insert("idempotency_keys", rows);
      return;
    }
    await this.executor.insertInto("idempotency_keys").values(rows).execute();
  }
}
