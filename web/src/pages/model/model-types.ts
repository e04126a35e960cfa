/** The API's answers the model page reads, as the v1 contract gives them. */

export interface AgeBlock {
  deployment_age_seconds: number;
  data_age_seconds: number;
  performance_age_seconds: number | null;
  ttl_seconds: number;
  ttl_fraction: number;
  stage: string | null;
  health_score: number | null;
  verdict: string | null;
  policy: string;
  exempt: boolean;
  /** When its model's decay curve crosses its performance threshold; null with forecast_reason. */
  forecast: Forecast | null;
  forecast_reason: string | null;
}

export interface Forecast {
  metric: string;
  breach_at: string;
  breach_in_seconds: number;
  /** Seconds from now at the slope interval's steep and gentle ends (null: never). */
  interval_seconds: [number, number | null];
  slope_per_day: number;
  based_on_deployments: number;
  based_on_windows: number;
}

export interface Deployment {
  id: number;
  model: string;
  model_version: string;
  environment: string;
  owner_team: string;
  role: "primary" | "shadow" | "canary";
  status: "scheduled" | "active" | "superseded" | "rolled_back" | "retired";
  deployment_date: string;
  training_data_cutoff: string;
  ended_at: string | null;
  endpoint: string | null;
  age: AgeBlock;
}

export interface ModelEvent {
  id: number;
  deployment_id: number | null;
  model: string;
  environment: string;
  type: string;
  actor: string;
  at: string;
  data: Record<string, unknown>;
}

export interface Model {
  name: string;
  owner_team: string;
  created_at: string;
  versions: { model_version: string; training_data_cutoff: string; created_at: string }[];
  environments: { environment: string; golden_version: string | null; live: Deployment[] }[];
}

export interface PerformanceWindow {
  start: string;
  end: string;
  samples: number;
  mean: number;
  state: string;
}

export interface DeploymentPerformance {
  deployment_id: number;
  model_version: string;
  role: Deployment["role"];
  status: Deployment["status"];
  deployment_date: string;
  ended_at: string | null;
  policy: string;
  ttl_seconds: number;
  due_at: string;
  expires_at: string;
  target: number | null;
  baseline: number | null;
  threshold: number | null;
  state: string | null;
  windows: PerformanceWindow[];
}

/** The model's decay in one environment: its learned curve, the TTL it suggests, the live forecast. */
export interface ModelDecay {
  metric: string | null;
  direction: "higher" | "lower" | null;
  curve: {
    slope_per_day: number;
    interval_per_day: [number, number];
    intercept: number;
    spread_per_day: [number, number];
    consistent: boolean;
    based_on_deployments: number;
    based_on_windows: number;
  } | null;
  reason: string | null;
  suggestion: {
    current_max_age_seconds: number;
    suggested_max_age_seconds: number;
    reason: string;
    evidence: { threshold: number; crossing_age_seconds: [number | null, number | null, number | null] };
  } | null;
  suggestion_reason: string | null;
  forecast: (Forecast & { deployment_id: number; model_version: string; threshold: number }) | null;
  forecast_reason: string | null;
}

export interface ModelPerformance {
  model: string;
  environment: string;
  metric: { name: string; direction: "higher" | "lower"; target: number | null } | null;
  metrics: string[];
  deployments: DeploymentPerformance[];
  decay: ModelDecay;
}

export interface FeatureCheck {
  feature: string;
  kind: string;
  method: string;
  statistic: number | null;
  p_value: number | null;
  score: number | null;
  threshold: number;
  state: "stable" | "possible" | "drifted";
  current_size: number;
}

export interface DriftCheck {
  day: string;
  state: "stable" | "possible" | "drifted" | "error";
  drifted_share: number | null;
  error: string | null;
  features: FeatureCheck[];
}

export interface ModelDrift {
  model: string;
  environment: string;
  days: number;
  deployments: {
    deployment_id: number;
    model_version: string;
    role: Deployment["role"];
    status: Deployment["status"];
    drift_state: string | null;
    reference: "stored" | "first_day" | null;
    checks: DriftCheck[];
  }[];
}

export interface ShadowComparison {
  model: string;
  environment: string;
  primary: { deployment_id: number; model_version: string } | null;
  shadows: {
    deployment_id: number;
    model_version: string;
    pairs: number;
    both_answered: number;
    agreement_rate: number | null;
    mean_abs_difference: number | null;
    shadow_errors: number;
    primary_errors: number;
    primary_latency_ms: { p50: number | null; p99: number | null };
    shadow_latency_ms: { p50: number | null; p99: number | null };
    labelled: number;
    verdict: {
      verdict: "candidate_better" | "candidate_worse" | "inconclusive";
      reason: string;
      labelled: number;
      p_value: number | null;
      primary_accuracy: number | null;
      candidate_accuracy: number | null;
      min_labelled: number;
    };
  }[];
}

export interface CanarySide {
  requests: number;
  errors: number;
  error_rate: number | null;
  p99_ms: number | null;
}

export interface Canary {
  model: string;
  environment: string;
  deployment: Deployment;
  state: string;
  weight: number | null;
  steps: number[] | null;
  step_index: number;
  failures: number;
  inconclusive_streak: number;
  config: { failure_limit: number; min_requests: number };
  next_analysis_at: string | null;
  analyses: {
    id: number;
    at: string;
    verdict: string;
    action: string;
    weight: number;
    reasons: string[];
    figures: { primary: CanarySide; canary: CanarySide };
  }[];
}
