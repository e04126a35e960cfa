import type { Generated, Insertable, Selectable } from "kysely";
import type {
  AlertState,
  AuditOrigin,
  BaselineSource,
  CanaryState,
  CanaryVerdict,
  DeliveryState,
  DeploymentRole,
  DeploymentStatus,
  DigestState,
  FeatureKind,
  SweepState,
  TokenScope,
} from "../core/words.js";

/**
 * The tables, as Kysely sees them. Times are epoch milliseconds in both dialects, so that ages
 * are plain arithmetic and sorting by age is an index scan on SQLite and PostgreSQL alike.
 */
export interface Schema {
  models: ModelsTable;
  model_versions: ModelVersionsTable;
  deployments: DeploymentsTable;
  deployment_events: DeploymentEventsTable;
  golden_versions: GoldenVersionsTable;
  tokens: TokensTable;
  idempotency_keys: IdempotencyKeysTable;
  sweeps: SweepsTable;
  alerts: AlertsTable;
  deliveries: DeliveriesTable;
  delivery_attempts: DeliveryAttemptsTable;
  metric_points: MetricPointsTable;
  metric_baselines: MetricBaselinesTable;
  metric_rollups: MetricRollupsTable;
  drift_references: DriftReferencesTable;
  drift_samples: DriftSamplesTable;
  canaries: CanariesTable;
  canary_analyses: CanaryAnalysesTable;
  shadow_pairs: ShadowPairsTable;
  feedback: FeedbackTable;
  canary_predictions: CanaryPredictionsTable;
  traffic_minutes: TrafficMinutesTable;
  ghosts: GhostsTable;
  webhook_receipts: WebhookReceiptsTable;
  audit_log: AuditLogTable;
  leases: LeasesTable;
  report_digests: ReportDigestsTable;
  learned_ttls: LearnedTtlsTable;
}

export interface ModelsTable {
  name: string;
  owner_team: string;
  created_at: number;
}

export interface ModelVersionsTable {
  model: string;
  model_version: string;
  training_data_cutoff: number;
  created_at: number;
}

export interface DeploymentsTable {
  id: Generated<number>;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: DeploymentRole;
  status: DeploymentStatus;
  deployment_date: number;
  training_data_cutoff: number;
  ended_at: number | null;
  endpoint: string | null;
  /** JSON object of string tags. */
  tags: string;
  ttl_extension_seconds: number;
  created_at: number;
  created_by: string;
  /** The last liveness heartbeat from its endpoint, or null if none ever came. */
  last_heartbeat_at: Generated<number | null>;
  /** What the last sweep found of its performance: `ok`, `degraded`, `insufficient_data`; null without metrics. */
  performance_state: Generated<string | null>;
  /** Since when it has held its performance target, as the last sweep found. */
  performance_ok_since: Generated<number | null>;
  /** How far its latest judged window fell below the baseline, relative; null without metrics. */
  performance_drop: Generated<number | null>;
  /** The last drift verdict (`stable`, `possible`, `drifted`); null without drift monitoring. */
  drift_state: Generated<string | null>;
  /** A canary's share of its model's traffic, percent (0–100); null for other roles. */
  traffic_weight: Generated<number | null>;
  /** The request header whose value keeps one client on one side of a canary split; null splits at random. */
  sticky_header: Generated<string | null>;
  /** The end of the last gateway report in which it answered a request without error. */
  last_traffic_at: Generated<number | null>;
  /** The version its upstream last stated, when that differed from `model_version`. */
  reported_version: Generated<string | null>;
  /** When a gateway last saw that mismatch; null once a report shows the right version again. */
  version_mismatch_at: Generated<number | null>;
  /**
   * JSON (JsonColumns.forecast): the last sweep's forecast of when it crosses its performance
   * threshold, or why there is none; null until a sweep forecasts it.
   */
  forecast: Generated<string | null>;
}

export interface DeploymentEventsTable {
  id: Generated<number>;
  /** Null for events of a model in an environment rather than of one deployment (golden set). */
  deployment_id: number | null;
  model: string;
  environment: string;
  type: string;
  actor: string;
  at: number;
  /** JSON object with what the event needs to be understood on its own. */
  data: string;
}

export interface GoldenVersionsTable {
  model: string;
  environment: string;
  model_version: string;
  set_at: number;
  set_by: string;
}

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

export type DeploymentRow = Selectable<DeploymentsTable>;
export type NewDeploymentRow = Insertable<DeploymentsTable>;
export type EventRow = Selectable<DeploymentEventsTable>;
export type TokenRow = Selectable<TokensTable>;

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

export interface AlertsTable {
  id: Generated<number>;
  deployment_id: number;
  kind: string;
  state: AlertState;
  severity: string;
  policy: string;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  summary: string;
  /** JSON: the finding's evidence. */
  detail: string;
  opened_at: number;
  last_notified_at: number | null;
  notifications: Generated<number>;
  resolved_at: number | null;
  resolution: string | null;
}

export interface DeliveriesTable {
  id: Generated<number>;
  alert_id: number;
  channel: string;
  action: string;
  /** JSON: the Notification, rendered when the alert changed. */
  notification: string;
  state: DeliveryState;
  attempts: Generated<number>;
  next_attempt_at: number;
  claimed_until: number | null;
  last_error: string | null;
  created_at: number;
  delivered_at: number | null;
}

export interface DeliveryAttemptsTable {
  id: Generated<number>;
  delivery_id: number;
  at: number;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
}

export type SweepRow = Selectable<SweepsTable>;
export type AlertRow = Selectable<AlertsTable>;
export type DeliveryRow = Selectable<DeliveriesTable>;
export type DeliveryAttemptRow = Selectable<DeliveryAttemptsTable>;

export interface MetricPointsTable {
  deployment_id: number;
  name: string;
  timestamp: number;
  value: number;
  sample_size: number;
  received_at: number;
}

/** Per deployment, metric and UTC day, what its points sum to; kept by triggers (migration 0015). */
export interface MetricRollupsTable {
  deployment_id: number;
  name: string;
  /** Days since the epoch. */
  day: number;
  samples: number;
  /** Σ value × sample_size. */
  weighted_sum: number;
}

export interface MetricBaselinesTable {
  deployment_id: number;
  name: string;
  value: number;
  source: BaselineSource;
  created_at: number;
}

/** A feature's bounded summary, as JSON: a reservoir of numbers, or category counts. */
export interface DriftReferencesTable {
  deployment_id: number;
  feature: string;
  kind: FeatureKind;
  /** How many values the summary stands for. */
  seen: number;
  /** JSON: `number[]` for numeric features, `{category: count}` for categorical ones. */
  summary: string;
  /** `upload` (a training sample) or `first_window` (the first day of live samples). */
  source: string;
  created_at: number;
}

export interface DriftSamplesTable {
  deployment_id: number;
  feature: string;
  /** The UTC day (epoch ms of its midnight) the samples arrived for. */
  day: number;
  kind: FeatureKind;
  seen: number;
  summary: string;
  updated_at: number;
}

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

/** A lease: who may do one thing (the sweep) until when, and the fencing token of that holding. */
export interface LeasesTable {
  name: string;
  holder: string;
  fencing_token: number;
  acquired_at: number;
  expires_at: number;
}

export type LeaseRow = Selectable<LeasesTable>;

export interface ReportDigestsTable {
  owner_team: string;
  channel: string;
  slot: number;
  state: DigestState;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  updated_at: number;
  sent_at: number | null;
}

export type ReportDigestRow = Selectable<ReportDigestsTable>;

export interface LearnedTtlsTable {
  model: string;
  environment: string;
  policy: string;
  ttl_seconds: number | null;
  reason: string;
  evidence: string | null;
  learned_at: number;
}

export type LearnedTtlRow = Selectable<LearnedTtlsTable>;
