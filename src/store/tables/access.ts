import type { Generated, Selectable } from "kysely";
import type { AuditOrigin, TokenScope } from "../../core/words.js";

// What the API keeps of its callers: tokens, idempotency keys, signed webhooks received, the audit log.

export interface TokensTable {
  id: Generated<number>;
  name: string | null;
  /** SHA-256 of the token, hex: the token itself is shown once and never stored. */
  token_hash: string;
  scope: TokenScope;
  owner_team: string | null;
  created_at: number;
  revoked_at: number | null;
  /** When the token stops working (epoch ms); null: never. */
  expires_at: number | null;
}

export interface IdempotencyKeysTable {
  /** The caller (token id or local user) and the key, so two callers' keys never collide. */
  scope_key: string;
  request_hash: string;
  status_code: number;
  response: string;
  created_at: number;
}

export type TokenRow = Selectable<TokensTable>;

/** A signed webhook delivery received, by its sender and the sender's delivery id. */
export interface WebhookReceiptsTable {
  source: string;
  delivery_id: string;
  signed_at: number;
  received_at: number;
}

/** One change to the registry, as the audit log keeps it (append-only; see migration 0013). */
export interface AuditLogTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  origin: AuditOrigin;
  client_ip: string | null;
  user_agent: string | null;
  method: string | null;
  path: string | null;
  status: number | null;
  /** JSON of the changed record before the change; null when there was none (a creation). */
  before: string | null;
  /** JSON of the changed record after the change. */
  after: string | null;
}

export type AuditRow = Selectable<AuditLogTable>;
