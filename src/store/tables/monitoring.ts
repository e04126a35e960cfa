import type {} from "kysely";
import type { BaselineSource, FeatureKind } from "../../core/words.js";

// Metric points, their daily and hourly roll-ups and baselines; drift references and samples.

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

/** Per deployment, metric and UTC hour, what its points sum to; kept by triggers (migration 0020). */
export interface MetricHourlyRollupsTable {
  deployment_id: number;
  name: string;
  /** Hours since the epoch. */
  hour: number;
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
