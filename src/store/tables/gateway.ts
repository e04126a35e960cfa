import type { Generated, Insertable, Selectable } from "kysely";
import type { CanaryState, CanaryVerdict } from "../../core/words.js";

// What gateways report and canaries decide: canaries and their analyses, shadow pairs,
// predictions and feedback, traffic minutes, ghosts.

/** A canary's analysis settings and where it stands (see src/core/canary-analysis.ts). */
export interface CanariesTable {
  deployment_id: number;
  model: string;
  environment: string;
  primary_id: number | null;
  /** JSON array of ascending weights, or null (it never promotes). */
  steps: string | null;
  step_index: number;
  interval_seconds: number;
  failure_limit: number;
  min_requests: number;
  inconclusive_limit: number;
  max_error_rate_increase: number;
  max_p99_ratio: number;
  /** Usable labelled requests each side needs before an analysis weighs labels. */
  min_labels: Generated<number>;
  failures: number;
  inconclusive_streak: number;
  state: CanaryState;
  next_analysis_at: number;
  window_start: number;
  created_at: number;
  updated_at: number;
}

export interface CanaryAnalysesTable {
  id: Generated<number>;
  deployment_id: number;
  at: number;
  window_start: number;
  window_end: number;
  verdict: CanaryVerdict;
  action: string;
  step_index: number;
  weight: number;
  /** JSON: the analysis's figures and reasons. */
  figures: string;
}

export type CanaryRow = Selectable<CanariesTable>;
export type NewCanaryRow = Insertable<CanariesTable>;
export type CanaryAnalysisRow = Selectable<CanaryAnalysesTable>;

/** One request answered by a primary (or canary) and by a shadow; predictions as JSON text. */
export interface ShadowPairsTable {
  shadow_id: number;
  request_id: string;
  primary_id: number;
  at: number;
  primary_prediction: string | null;
  shadow_prediction: string | null;
  primary_status: number;
  shadow_status: number;
  primary_latency_ms: number;
  shadow_latency_ms: number;
  received_at: number;
}

/** What one side of a model with a canary predicted for one request; the prediction as JSON text. */
export interface CanaryPredictionsTable {
  deployment_id: number;
  request_id: string;
  at: number;
  prediction: string | null;
  received_at: number;
}

/** Ground truth for one served request, by its request id; the label as JSON text. */
export interface FeedbackTable {
  request_id: string;
  label: string;
  received_at: number;
}
/** The latency histogram's buckets, one column each; see BUCKET_COLUMNS in traffic-store.ts. */
type BucketColumns = {
  [K in `bucket_${0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 | 11 | 12 | 13 | 14 | 15 | 16}`]: Generated<number>;
};

/** A deployment's traffic in one minute (epoch ms of its start), summed over every gateway. */
export interface TrafficMinutesTable extends BucketColumns {
  deployment_id: number;
  minute: number;
  requests: number;
  errors: number;
  timeouts: number;
  latency_sum_ms: number;
  shadow_skipped_oversize: Generated<number>;
  updated_at: number;
}

/** Requests gateways got for a model the registry does not know, per environment. */
export interface GhostsTable {
  model: string;
  environment: string;
  requests: number;
  first_seen: number;
  last_seen: number;
  /** The gateway that reported it last. */
  last_gateway: string;
}

export type GhostRow = Selectable<GhostsTable>;
