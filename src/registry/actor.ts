import type { AuditOrigin } from "../core/words.js";

/**
 * Where a change comes from, as its audit row records it: written by the registry and the
 * lifecycle in the change's own transaction, so the change and its row commit together or not
 * at all. For `http`, the request that asked for it.
 */
export interface AuditVia {
  origin: AuditOrigin;
  client_ip?: string | null;
  user_agent?: string | null;
  method?: string | null;
  path?: string | null;
  /** The status the API answers the change with (recorded before the answer is sent). */
  status?: number | null;
}

/** Who asks for a change: recorded on every event, and bounded to one team when the token is. */
export interface Actor {
  /** How events name the actor: `token:ci-deployer`, `cli:alice`. */
  name: string;
  /** Scopes idempotency keys so two callers' keys never collide. */
  key_scope: string;
  /** A team-bound actor changes only that team's models; null changes any. */
  team: string | null;
  /** What the actor may do; the local CLI, with the database in hand, is `admin`. */
  scope?: "read" | "write" | "admin";
  /** Where the change comes from, for its audit row; `system` (Tenure on its own) when absent. */
  via?: AuditVia;
}
