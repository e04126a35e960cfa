import type { Generated, Selectable } from "kysely";
import type { SweepState } from "../../core/words.js";

// The sweep's log and lease, and the TTLs learned from a fleet's history.

export interface SweepsTable {
  id: Generated<number>;
  state: SweepState;
  /** `schedule`, `startup` (a sweep missed while the server was down), or `manual`. */
  trigger: string;
  actor: string;
  evaluated_at: number;
  scheduled_for: number | null;
  started_at: number;
  finished_at: number | null;
  duration_ms: number | null;
  deployments: Generated<number>;
  /** JSON: live deployments per stage. */
  stages: Generated<string>;
  /** JSON: findings per kind. */
  findings: Generated<string>;
  promotions: Generated<number>;
  retirements: Generated<number>;
  alerts_opened: Generated<number>;
  alerts_resolved: Generated<number>;
  notifications: Generated<number>;
  error: string | null;
}

export type SweepRow = Selectable<SweepsTable>;

/** A lease: who may do one thing (the sweep) until when, and the fencing token of that holding. */
export interface LeasesTable {
  name: string;
  holder: string;
  fencing_token: number;
  acquired_at: number;
  expires_at: number;
}

export type LeaseRow = Selectable<LeasesTable>;

export interface LearnedTtlsTable {
  model: string;
  environment: string;
  policy: string;
  ttl_seconds: number | null;
  reason: string;
  evidence: string | null;
  learned_at: number;
  /** The TTL in force its live deployments were last told of (migration 0021); null: not yet known. */
  announced_ttl_seconds: number | null;
  /** JSON: the bounds (min, max, fallback seconds) that announced TTL was set within. */
  announced_bounds: string | null;
  announced_at: number | null;
}

export type LearnedTtlRow = Selectable<LearnedTtlsTable>;
