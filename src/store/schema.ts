import type {
  AuditLogTable,
  IdempotencyKeysTable,
  TokensTable,
  WebhookReceiptsTable,
} from "./tables/access.js";
import type {
  AlertsTable,
  DeliveriesTable,
  DeliveryAttemptsTable,
  ReportDigestsTable,
} from "./tables/alerts.js";
import type {
  CanariesTable,
  CanaryAnalysesTable,
  CanaryPredictionsTable,
  FeedbackTable,
  GhostsTable,
  ShadowPairsTable,
  TrafficMinutesTable,
} from "./tables/gateway.js";
import type { LearnedTtlsTable, LeasesTable, SweepsTable } from "./tables/lifecycle.js";
import type {
  DriftReferencesTable,
  DriftSamplesTable,
  MetricBaselinesTable,
  MetricHourlyRollupsTable,
  MetricPointsTable,
  MetricRollupsTable,
} from "./tables/monitoring.js";
import type {
  DeploymentEventsTable,
  DeploymentsTable,
  GoldenVersionsTable,
  ModelsTable,
  ModelVersionsTable,
} from "./tables/registry.js";

export type * from "./tables/access.js";
export type * from "./tables/alerts.js";
export type * from "./tables/gateway.js";
export type * from "./tables/lifecycle.js";
export type * from "./tables/monitoring.js";
// Each aggregate's tables are typed in tables/, one file each; the rest of Tenure imports them from here.
export type * from "./tables/registry.js";

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
  metric_hourly_rollups: MetricHourlyRollupsTable;
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
