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
}
